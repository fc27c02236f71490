-- Push subscriptions, the notification outbox with its per-device deliveries, and reminders.

CREATE TABLE push_subscriptions (
    id           UUID PRIMARY KEY,
    account_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- A capability URL: never logged whole.
    endpoint     TEXT NOT NULL UNIQUE,
    p256dh       TEXT NOT NULL,
    auth         TEXT NOT NULL,
    device_label TEXT,
    expires_at   TIMESTAMPTZ,
    -- The VAPID public key the browser subscribed with; another key cannot reach it.
    vapid_key    TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    last_sent_at TIMESTAMPTZ
);
CREATE INDEX push_subscriptions_account ON push_subscriptions (account_id);

-- One row per logical notification (what the inbox lists). `dedupe_key` makes producing the
-- same notification twice create it once, e.g. `daily:2026-11-21`, `aftercare:<step id>`.
CREATE TABLE notifications (
    id            UUID PRIMARY KEY,
    account_id    UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    dedupe_key    TEXT NOT NULL,
    kind          TEXT NOT NULL,
    title         TEXT NOT NULL,
    body          TEXT NOT NULL,
    link          TEXT NOT NULL,
    ttl_seconds   INTEGER NOT NULL,
    urgency       TEXT NOT NULL,
    topic         TEXT NOT NULL,
    due_at        TIMESTAMPTZ NOT NULL,
    -- The local day a daily reminder is about; it is skipped when that day has an entry.
    subject_date  DATE,
    state         TEXT NOT NULL CHECK (state IN ('scheduled', 'dispatched', 'cancelled')),
    created_at    TIMESTAMPTZ NOT NULL,
    dispatched_at TIMESTAMPTZ,
    read_at       TIMESTAMPTZ,
    UNIQUE (account_id, dedupe_key)
);
CREATE INDEX notifications_due ON notifications (due_at) WHERE state = 'scheduled';
CREATE INDEX notifications_inbox ON notifications (account_id, due_at);

-- The outbox proper: one delivery per notification and device, claimed with a lease.
CREATE TABLE push_deliveries (
    id              UUID PRIMARY KEY,
    notification_id UUID NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    subscription_id UUID NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'leased', 'sent', 'dead')),
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    lease_owner     TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    updated_at      TIMESTAMPTZ NOT NULL,
    UNIQUE (notification_id, subscription_id)
);
CREATE INDEX push_deliveries_due ON push_deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX push_deliveries_leases ON push_deliveries (lease_until) WHERE state = 'leased';

CREATE TABLE reminder_settings (
    account_id         UUID PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    daily_enabled      BOOLEAN NOT NULL,
    daily_time         TEXT NOT NULL,
    weekly_peg_enabled BOOLEAN NOT NULL,
    -- ISO weekday, 1 = Monday.
    weekly_peg_weekday INTEGER NOT NULL CHECK (weekly_peg_weekday BETWEEN 1 AND 7),
    weekly_peg_time    TEXT NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
