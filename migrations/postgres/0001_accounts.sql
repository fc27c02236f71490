-- Accounts, device sessions and the hashes of their tokens.

CREATE TABLE accounts (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('patient', 'therapist')),
    discipline    TEXT CHECK (discipline IN ('massage_therapist', 'physiotherapist', 'other')),
    display_name  TEXT,
    time_zone     TEXT NOT NULL,
    quiet_start   TEXT NOT NULL,
    quiet_end     TEXT NOT NULL,
    locale        TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    CHECK ((role = 'therapist') = (discipline IS NOT NULL))
);

-- One sign-in on one device; its refresh tokens form one family.
CREATE TABLE device_sessions (
    id             UUID PRIMARY KEY,
    account_id     UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    device_label   TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    last_used_at   TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    revoked_reason TEXT
);
CREATE INDEX device_sessions_account ON device_sessions (account_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES device_sessions (id) ON DELETE CASCADE,
    issued_at  TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE access_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id UUID NOT NULL REFERENCES device_sessions (id) ON DELETE CASCADE,
    expires_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX access_tokens_session ON access_tokens (session_id);
