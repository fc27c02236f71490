-- The pain journal, its per-patient change sequence, questionnaires, and idempotency keys.
-- SQLite: UUIDs are BLOBs, instants fixed-width RFC 3339 TEXT, dates YYYY-MM-DD TEXT.

CREATE TABLE journal_entries (
    id          BLOB PRIMARY KEY,
    patient_id  BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    recorded_at TEXT NOT NULL,
    local_date  TEXT NOT NULL,
    pain        INTEGER NOT NULL CHECK (pain BETWEEN 0 AND 10),
    -- Sorted symptom names between commas (",fever,saddle_numbness,"), for set-based alert sweeps.
    symptoms    TEXT NOT NULL,
    -- The rest of the entry as JSON text.
    content     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    change_seq  INTEGER NOT NULL,
    deleted     INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX journal_entries_changes ON journal_entries (patient_id, change_seq);
CREATE INDEX journal_entries_by_time ON journal_entries (patient_id, recorded_at, id) WHERE NOT deleted;
CREATE INDEX journal_entries_by_date ON journal_entries (patient_id, local_date) WHERE NOT deleted;

-- The last change number of each patient's journal. Bumping it inside the writing transaction
-- locks the row, so a patient's changes commit in sequence order and the change feed never
-- skips one that commits late.
CREATE TABLE journal_heads (
    patient_id BLOB PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    last_seq   INTEGER NOT NULL
) STRICT;

CREATE TABLE questionnaire_responses (
    id           BLOB PRIMARY KEY,
    patient_id   BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('peg', 'roland_morris')),
    answers      TEXT NOT NULL,
    score        REAL NOT NULL,
    completed_at TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX questionnaire_responses_by_time ON questionnaire_responses (patient_id, kind, completed_at);

-- Idempotency-Key of non-idempotent POSTs: the first request's result is replayed.
CREATE TABLE idempotency_keys (
    account_id   BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    operation    TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    resource_id  BLOB,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
) STRICT;
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
