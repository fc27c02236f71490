#!/usr/bin/env python3
"""Drives the Python client generated from openapi/openapi.yaml (openapi-python-client) through
what a phone app does, against a running server: register, sign in, write entries and sync them
through the change feed, update one from a stale version and reconcile from the typed 409
problem's `current`, subscribe a device for Web Push, read the inbox, and send an invalid entry
to get a typed 422 problem naming the field.

Every answer is read through the generated types only (`response.parsed`), never as raw JSON:
what this script needs from a field, the document must have described.

Usage: python_flow.py BASE_URL   (with the generated package `aftercare_client` on PYTHONPATH)
"""

from __future__ import annotations

import secrets
import sys
import uuid
from datetime import datetime, timedelta, timezone
from http import HTTPStatus

from aftercare_client import AuthenticatedClient, Client
from aftercare_client.api.accounts import register
from aftercare_client.api.auth import create_token
from aftercare_client.api.journal import list_journal_changes, put_journal_entry
from aftercare_client.api.notifications import (
    list_notifications,
    register_push_subscription,
    send_test_notification,
)
from aftercare_client.models import (
    EntryWrite,
    JournalChanges,
    NotificationPage,
    PasswordGrant,
    PasswordGrantGrantType,
    Problem,
    PushSubscriptionKeys,
    PushSubscriptionRegistration,
    Registration,
    Role,
    TokenResponse,
)
from aftercare_client.types import UNSET

steps = 0


def check(condition: bool, what: str, response=None) -> None:
    global steps
    if not condition:
        detail = f"\n    status {response.status_code}: {response.content[:500]!r}" if response is not None else ""
        sys.exit(f"python flow: FAILED: {what}{detail}")
    steps += 1
    print(f"  ok  {what}")


def main(base_url: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    email = f"flow-{secrets.token_hex(6)}@example.org"
    password = "correct horse battery staple"

    # Register and sign in.
    registration = Registration(email=email, password=password, role=Role.PATIENT, time_zone="Europe/Lisbon")
    response = register.sync_detailed(client=anonymous, body=registration)
    check(response.status_code == HTTPStatus.CREATED, "register a patient", response)

    grant = PasswordGrant(grant_type=PasswordGrantGrantType.PASSWORD, email=email, password=password, device_label="python flow")
    response = create_token.sync_detailed(client=anonymous, body=grant)
    tokens = response.parsed
    check(isinstance(tokens, TokenResponse) and bool(tokens.access_token), "sign in with a password grant", response)
    client = AuthenticatedClient(base_url=base_url, token=tokens.access_token, raise_on_unexpected_status=True)

    # Write two entries, as an offline phone would: ids chosen by the app.
    now = datetime.now(timezone.utc)
    ids = [uuid.uuid4(), uuid.uuid4()]
    for n, entry_id in enumerate(ids):
        entry = EntryWrite(recorded_at=now - timedelta(hours=n + 1), pain=3 + n, notes=f"flow entry {n}")
        response = put_journal_entry.sync_detailed(entry_id, client=client, body=entry)
        check(response.status_code == HTTPStatus.CREATED and response.parsed.version == 1, f"write entry {n}", response)

    # Sync: the change feed returns both, with a cursor to keep.
    response = list_journal_changes.sync_detailed(client=client)
    changes = response.parsed
    check(isinstance(changes, JournalChanges), "read the change feed", response)
    synced = {change.id for change in changes.changes}
    check(set(ids) <= synced and bool(changes.next_cursor), "the feed holds both entries and a cursor", response)
    response = list_journal_changes.sync_detailed(client=client, cursor=changes.next_cursor)
    check(response.parsed.changes == [] and response.parsed.has_more is False, "nothing new after the cursor", response)

    # Update one entry, then try again from the version it had before: a typed 409.
    first = ids[0]
    update = EntryWrite(recorded_at=now - timedelta(hours=1), pain=6, base_version=1)
    response = put_journal_entry.sync_detailed(first, client=client, body=update)
    check(response.status_code == HTTPStatus.OK and response.parsed.version == 2, "update an entry from version 1", response)
    stale = EntryWrite(recorded_at=now - timedelta(hours=1), pain=2, base_version=1)
    response = put_journal_entry.sync_detailed(first, client=client, body=stale)
    problem = response.parsed
    check(
        response.status_code == HTTPStatus.CONFLICT and isinstance(problem, Problem) and problem.code == "stale_version",
        "a stale update answers a typed 409 stale_version problem",
        response,
    )
    current = problem.current
    check(
        current is not None and current is not UNSET and current.id == first and current.version == 2,
        "the problem's `current` is the server's copy, typed",
        response,
    )
    check(current.entry.pain == 6 and current.deleted is False, "`current` carries the entry to reconcile with", response)

    # Subscribe this device to Web Push, then read the inbox after a test notification.
    keys = PushSubscriptionKeys(
        p256dh="BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        auth="tBHItJI5svbpez7KI4CCXg",
    )
    subscription = PushSubscriptionRegistration(
        endpoint=f"https://fcm.googleapis.com/fcm/send/{secrets.token_urlsafe(16)}", keys=keys, device_label="flow phone"
    )
    response = register_push_subscription.sync_detailed(client=client, body=subscription)
    check(response.status_code == HTTPStatus.CREATED and response.parsed.push_service, "subscribe a device", response)
    response = send_test_notification.sync_detailed(client=client)
    check(response.status_code == HTTPStatus.ACCEPTED, "queue a test notification", response)
    response = list_notifications.sync_detailed(client=client)
    inbox = response.parsed
    check(isinstance(inbox, NotificationPage) and len(inbox.items) >= 1, "read the inbox", response)
    notification = inbox.items[0]
    check(bool(notification.title) and notification.read is False, "the inbox item is typed and unread", response)
    check(inbox.next_cursor is None, "the last page says so with next_cursor null", response)

    # A value out of range: a typed 422 problem naming the field.
    invalid = EntryWrite(recorded_at=now, pain=11)
    response = put_journal_entry.sync_detailed(uuid.uuid4(), client=client, body=invalid)
    problem = response.parsed
    check(
        response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY and isinstance(problem, Problem),
        "an invalid entry answers a typed 422 problem",
        response,
    )
    fields = [error.field for error in problem.errors]
    check(problem.code == "validation_failed" and "pain" in fields, "the problem names the rejected field", response)

    print(f"python flow: {steps} passed, 0 failed")


if __name__ == "__main__":
    main(sys.argv[1])
