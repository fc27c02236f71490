"""Schemathesis hooks for the contract run (named in schemathesis.toml).

`DELETE /v1/me` erases the account whose token it carries, given that account's password. Sent
as one of the seeded identities it would delete that identity halfway through the run and leave
every later request unauthenticated, so it is sent as a throwaway patient registered just for it;
a schema-valid password in the body becomes the throwaway's, so that erasing is exercised and not
only the refusal of a wrong password. The operation is still fuzzed and checked like any other:
only whose account disappears changes.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.request

import hypothesis.internal.lambda_sources as _lambda_sources
import schemathesis

# CPython 3.11 can fail `ast.parse` with "SystemError: AST constructor recursion depth mismatch"
# (python/cpython#106905). Hypothesis parses source files only to label the lambdas in a
# strategy's description, and such a failure aborted the operation under test. A label is not
# worth a failed run: fall back to hypothesis' own "<unknown>" label.
_describe_lambda = _lambda_sources._lambda_description


def _describe_lambda_or_unknown(f):
    try:
        return _describe_lambda(f)
    except SystemError:
        return "lambda: <unknown>"


_lambda_sources._lambda_description = _describe_lambda_or_unknown

# Rules that JSON Schema cannot state, by the `code` the service gives them in a 422 problem.
# A schema-valid request refused (422) only for rules in this list is the service doing its job,
# not a gap in the API document: anything else it refuses must be stated in the document.
RULES_BEYOND_THE_SCHEMA = {
    "unknown_time_zone",  # the name must exist in the time zone database
    "empty_window",  # quiet hours must start and end at different times
    "invalid_email",  # mailbox syntax
    "equals_email",  # the password must not be the email address
    "incorrect",  # the current password must be the right one
    "reused_with_different_request",  # an Idempotency-Key belongs to one request
    "in_future",  # relative to the server clock
    "too_old",  # instants before 2000-01-01
    "duplicate",  # each region at most once in an entry
    "empty_range",  # `from` must not be after `to`
    "range_too_long",  # at most 366 days
    "invalid_cursor",  # cursors are the service's own
    "not_in_future",  # relative to the server clock
    "unknown_push_service",  # the configured push services, and where their hosts resolve
    "not_a_p256_point",  # a push key must be a point on the P-256 curve
    "not_applicable",  # health screen regions only with `present: true`
    "timing_mismatch",  # a soreness check-in is due around its `hours_after`
    "unsupported_claim",  # no "toxin"/"detox" claims in a therapist's prompts
    "nul_character",  # no text field holds U+0000 (PostgreSQL text cannot store it)
}
# Rules on one field that depend on another or on the caller (a therapist's discipline, by role;
# the scopes a patient grants when accepting a therapist's invite).
FIELD_RULES_BEYOND_THE_SCHEMA = {("discipline", "required"), ("discipline", "not_allowed"), ("scopes", "required")}

ACCESS_TOKEN_PREFIX = "Bearer aca_"
BASE_URL = os.environ["AFTERCARE_CONTRACT_URL"].rstrip("/")


def _post(path: str, body: dict) -> dict:
    request = urllib.request.Request(
        BASE_URL + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def _throwaway_account() -> tuple[str, str]:
    """A new patient's access token and password."""
    email = f"contract-throwaway-{secrets.token_hex(8)}@example.org"
    password = secrets.token_urlsafe(18)
    _post("/v1/accounts", {"email": email, "password": password, "role": "patient", "time_zone": "UTC"})
    tokens = _post("/v1/auth/token", {"grant_type": "password", "email": email, "password": password})
    return tokens["access_token"], password


def _authorization_key(headers: dict) -> str | None:
    return next((name for name in headers if name.lower() == "authorization"), None)


@schemathesis.hook
def before_call(context, case, **kwargs):
    if case.method.upper() != "DELETE" or case.path != "/v1/me" or not case.headers:
        return
    key = _authorization_key(case.headers)
    # Only a real access token is swapped: missing or invalid credentials must stay as they are.
    if key is not None and str(case.headers[key]).startswith(ACCESS_TOKEN_PREFIX):
        token, password = _throwaway_account()
        case.headers[key] = f"Bearer {token}"
        body = case.body
        # Only a password the schema allows is replaced: a schema-invalid body must stay invalid.
        if isinstance(body, dict) and isinstance(body.get("password"), str) and len(body["password"]) <= 1024:
            body["password"] = password


def _beyond_the_schema(problem: dict) -> bool:
    errors = problem.get("errors") or []
    return bool(errors) and all(
        e.get("code") in RULES_BEYOND_THE_SCHEMA or (e.get("field"), e.get("code")) in FIELD_RULES_BEYOND_THE_SCHEMA
        for e in errors
    )


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure except a schema-valid request refused only for rules beyond the schema."""
    if getattr(failure, "code", None) != "ST202" or response.status_code != 422:
        return True
    try:
        problem = response.json()
    except ValueError:
        return True
    if not (isinstance(problem, dict) and _beyond_the_schema(problem)):
        return True
    # Kept for the run's summary: which rules refused how many schema-valid requests.
    log = os.environ.get("AFTERCARE_CONTRACT_FILTERED")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            for error in problem["errors"]:
                out.write(f"{case.operation.label}\t{error.get('field')}\t{error.get('code')}\n")
    return False
