-- Accounts, device sessions and the hashes of their tokens.
-- SQLite: UUIDs are 16-byte BLOBs, instants fixed-width RFC 3339 TEXT (see store::types::Ts).

CREATE TABLE accounts (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('patient', 'therapist')),
    discipline    TEXT CHECK (discipline IN ('massage_therapist', 'physiotherapist', 'other')),
    display_name  TEXT,
    time_zone     TEXT NOT NULL,
    quiet_start   TEXT NOT NULL,
    quiet_end     TEXT NOT NULL,
    locale        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    CHECK ((role = 'therapist') = (discipline IS NOT NULL))
) STRICT;

-- One sign-in on one device; its refresh tokens form one family.
CREATE TABLE device_sessions (
    id             BLOB PRIMARY KEY,
    account_id     BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device_label   TEXT,
    created_at     TEXT NOT NULL,
    last_used_at   TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    revoked_at     TEXT,
    revoked_reason TEXT
) STRICT;
CREATE INDEX device_sessions_account ON device_sessions (account_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id BLOB NOT NULL REFERENCES device_sessions (id) ON DELETE CASCADE,
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_at    TEXT
) STRICT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id BLOB NOT NULL REFERENCES device_sessions (id) ON DELETE CASCADE,
    expires_at TEXT NOT NULL
) STRICT;
CREATE INDEX access_tokens_session ON access_tokens (session_id);
