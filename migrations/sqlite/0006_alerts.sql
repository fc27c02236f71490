-- Alerts raised by the rules in domain::alerts. At most one unresolved alert per patient and
-- rule (the partial unique index); resolved alerts stay as the patient's history.
-- SQLite: UUIDs are BLOBs, instants fixed-width RFC 3339 TEXT.

CREATE TABLE alerts (
    id                 BLOB PRIMARY KEY,
    patient_id         BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- domain::alerts::RuleId and Tier names.
    rule               TEXT NOT NULL,
    tier               TEXT NOT NULL CHECK (tier IN ('emergency', 'urgent', 'see_physio', 'therapist_followup')),
    -- The days, values and answers behind it, as of last_seen_at: a JSON array of
    -- domain::alerts::Evidence.
    evidence           TEXT NOT NULL,
    explanation        TEXT NOT NULL,
    source             TEXT NOT NULL,
    opened_at          TEXT NOT NULL,
    -- The last evaluation that still found the rule firing.
    last_seen_at       TEXT NOT NULL,
    acknowledged_at    TEXT,
    acknowledged_by    BLOB REFERENCES accounts (id) ON DELETE SET NULL,
    resolved_at        TEXT,
    resolved_how       TEXT CHECK (resolved_how IN ('auto', 'manual')),
    resolved_by        BLOB REFERENCES accounts (id) ON DELETE SET NULL,
    -- When the latest notification was (or, after quiet hours, will be) sent, and how many were
    -- produced; notification n has the dedupe key alert:<id>:<n>.
    notified_at        TEXT,
    notification_count INTEGER NOT NULL CHECK (notification_count >= 0),
    CHECK ((resolved_at IS NULL) = (resolved_how IS NULL))
) STRICT;
CREATE UNIQUE INDEX alerts_unresolved ON alerts (patient_id, rule) WHERE resolved_at IS NULL;
CREATE INDEX alerts_by_patient ON alerts (patient_id, opened_at, id);
