#!/usr/bin/env python3
"""Seeds a running Aftercare server through its public API for the contract run.

Registers two patients and two therapists, gives each patient some journal entries, a
questionnaire and a massage session (so reads have objects to return and to withhold from the
others), links `therapist_a` to `patient_a` through the care-team invite endpoints with a live
grant of every scope (so the therapist paths have something to compare: `therapist_a` may read
`patient_a`'s data, nobody else may), and writes a Web Fuzzing Commons auth file that signs each
of them in through `POST /v1/auth/token`.

Usage: seed.py BASE_URL AUTH_FILE
"""

from __future__ import annotations

import json
import secrets
import sys
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone

IDENTITIES = [
    ("patient_a", {"role": "patient", "time_zone": "Europe/Lisbon"}),
    ("patient_b", {"role": "patient", "time_zone": "America/New_York"}),
    ("therapist_a", {"role": "therapist", "discipline": "physiotherapist", "time_zone": "Europe/Berlin"}),
    ("therapist_b", {"role": "therapist", "discipline": "massage_therapist", "time_zone": "Asia/Tokyo"}),
]


def call(base: str, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else {}


def expect(status: int, body: dict, wanted: int, what: str) -> dict:
    if status != wanted:
        sys.exit(f"seed: {what} answered {status}, expected {wanted}: {body}")
    return body


def sign_in(base: str, email: str, password: str) -> str:
    grant = {"grant_type": "password", "email": email, "password": password, "device_label": "contract seed"}
    return expect(*call(base, "POST", "/v1/auth/token", grant), 200, f"signing in {email}")["access_token"]


def seed_patient(base: str, token: str, offset: int) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for day in range(3):
        recorded_at = (now - timedelta(days=day, hours=offset)).isoformat().replace("+00:00", "Z")
        entry = {
            "recorded_at": recorded_at,
            "pain": 3 + day + offset,
            "regions": [{"region": "lower_back", "pain": 3 + day, "qualities": ["aching"]}],
            "self_care": ["stretching"],
            "notes": f"seeded day {day}",
        }
        path = f"/v1/journal/entries/{uuid.uuid4()}"
        expect(*call(base, "PUT", path, entry, token), 201, f"PUT {path}")
    peg = {"kind": "peg", "pain": 5, "enjoyment": 4, "activity": 6}
    expect(*call(base, "POST", "/v1/questionnaires", peg, token), 201, "submitting a PEG")
    started_at = (now - timedelta(days=1, hours=offset)).isoformat().replace("+00:00", "Z")
    session = {"started_at": started_at, "duration_minutes": 60, "kind": "swedish", "regions": ["lower_back"]}
    expect(*call(base, "POST", "/v1/sessions", session, token), 201, "recording a session")


def link(base: str, patient_token: str, therapist_token: str) -> None:
    """The patient invites the therapist with every scope; the therapist redeems the code."""
    scopes = ["read_journal", "record_sessions", "manage_aftercare", "receive_alerts"]
    invite = expect(*call(base, "POST", "/v1/care/invites", {"scopes": scopes}, patient_token), 201, "inviting")
    grant = expect(
        *call(base, "POST", "/v1/care/invites/redeem", {"code": invite["code"]}, therapist_token),
        201,
        "redeeming the invite",
    )
    if grant["status"] != "active" or sorted(grant["scopes"]) != sorted(scopes):
        sys.exit(f"seed: the grant is not live with every scope: {grant}")


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    base, auth_file = sys.argv[1].rstrip("/"), sys.argv[2]
    run = secrets.token_hex(4)
    entries = []
    tokens = {}
    for offset, (name, profile) in enumerate(IDENTITIES):
        email = f"contract-{name.replace('_', '-')}-{run}@example.org"
        password = secrets.token_urlsafe(18)
        registration = {"email": email, "password": password, "display_name": name, **profile}
        expect(*call(base, "POST", "/v1/accounts", registration), 201, f"registering {name}")
        token = sign_in(base, email, password)
        tokens[name] = token
        if profile["role"] == "patient":
            seed_patient(base, token, offset)
        entries.append(
            {
                "name": name,
                "loginEndpointAuth": {
                    "endpoint": "/v1/auth/token",
                    "verb": "POST",
                    "contentType": "application/json",
                    "payloadRaw": json.dumps({"grant_type": "password", "email": email, "password": password}),
                    "token": {
                        "extractFrom": "body",
                        "extractSelector": "/access_token",
                        "sendIn": "header",
                        "sendName": "Authorization",
                        "sendTemplate": "Bearer {token}",
                    },
                },
            }
        )
    link(base, tokens["patient_a"], tokens["therapist_a"])
    with open(auth_file, "w", encoding="utf-8") as out:
        json.dump({"schemaVersion": "0.2.0", "auth": entries}, out, indent=2)
    print(f"seed: {len(entries)} identities ({', '.join(n for n, _ in IDENTITIES)}),")
    print(f"seed: therapist_a holds a live grant of every scope from patient_a -> {auth_file}")


if __name__ == "__main__":
    main()
