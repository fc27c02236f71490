-- Push subscriptions, the notification outbox with its per-device deliveries, and reminders.
-- SQLite: UUIDs are BLOBs, instants fixed-width RFC 3339 TEXT, dates YYYY-MM-DD TEXT.

CREATE TABLE push_subscriptions (
    id           BLOB PRIMARY KEY,
    account_id   BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- A capability URL: never logged whole.
    endpoint     TEXT NOT NULL UNIQUE,
    p256dh       TEXT NOT NULL,
    auth         TEXT NOT NULL,
    device_label TEXT,
    expires_at   TEXT,
    -- The VAPID public key the browser subscribed with; another key cannot reach it.
    vapid_key    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    last_sent_at TEXT
) STRICT;
CREATE INDEX push_subscriptions_account ON push_subscriptions (account_id);

-- One row per logical notification (what the inbox lists). `dedupe_key` makes producing the
-- same notification twice create it once, e.g. `daily:2026-11-21`, `aftercare:<step id>`.
CREATE TABLE notifications (
    id            BLOB PRIMARY KEY,
    account_id    BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    dedupe_key    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    link          TEXT NOT NULL,
    ttl_seconds   INTEGER NOT NULL,
    urgency       TEXT NOT NULL,
    topic         TEXT NOT NULL,
    due_at        TEXT NOT NULL,
    -- The local day a daily reminder is about; it is skipped when that day has an entry.
    subject_date  TEXT,
    state         TEXT NOT NULL CHECK (state IN ('scheduled', 'dispatched', 'cancelled')),
    created_at    TEXT NOT NULL,
    dispatched_at TEXT,
    read_at       TEXT,
    UNIQUE (account_id, dedupe_key)
) STRICT;
CREATE INDEX notifications_due ON notifications (due_at) WHERE state = 'scheduled';
CREATE INDEX notifications_inbox ON notifications (account_id, due_at);

-- The outbox proper: one delivery per notification and device, claimed with a lease.
CREATE TABLE push_deliveries (
    id              BLOB PRIMARY KEY,
    notification_id BLOB NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    subscription_id BLOB NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'sent', 'dead')),
    attempts        INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    lease_owner     TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    updated_at      TEXT NOT NULL,
    UNIQUE (notification_id, subscription_id)
) STRICT;
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX push_deliveries_leases ON push_deliveries (lease_until) WHERE state = 'leased';

CREATE TABLE reminder_settings (
    account_id         BLOB PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    daily_enabled      INTEGER NOT NULL,
    daily_time         TEXT NOT NULL,
    weekly_peg_enabled INTEGER NOT NULL,
    -- ISO weekday, 1 = Monday.
    weekly_peg_weekday INTEGER NOT NULL CHECK (weekly_peg_weekday BETWEEN 1 AND 7),
    weekly_peg_time    TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) STRICT;
