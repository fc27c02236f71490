-- The pain journal, its per-patient change sequence, questionnaires, and idempotency keys.

CREATE TABLE journal_entries (
    id          UUID PRIMARY KEY,
    patient_id  UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    recorded_at TIMESTAMPTZ NOT NULL,
    local_date  DATE NOT NULL,
    pain        SMALLINT NOT NULL CHECK (pain BETWEEN 0 AND 10),
    -- Sorted symptom names between commas (",fever,saddle_numbness,"), for set-based alert sweeps.
    symptoms    TEXT NOT NULL,
    -- The rest of the entry as JSON text.
    content     TEXT NOT NULL,
    version     BIGINT NOT NULL,
    change_seq  BIGINT NOT NULL,
    deleted     BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX journal_entries_changes ON journal_entries (patient_id, change_seq);
CREATE INDEX journal_entries_by_time ON journal_entries (patient_id, recorded_at, id) WHERE NOT deleted;
CREATE INDEX journal_entries_by_date ON journal_entries (patient_id, local_date) WHERE NOT deleted;

-- The last change number of each patient's journal. Bumping it inside the writing transaction
-- locks the row, so a patient's changes commit in sequence order and the change feed never
-- skips one that commits late.
CREATE TABLE journal_heads (
    patient_id UUID PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    last_seq   BIGINT NOT NULL
);

CREATE TABLE questionnaire_responses (
    id           UUID PRIMARY KEY,
    patient_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('peg', 'roland_morris')),
    answers      TEXT NOT NULL,
    score        DOUBLE PRECISION NOT NULL,
    completed_at TIMESTAMPTZ NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX questionnaire_responses_by_time ON questionnaire_responses (patient_id, kind, completed_at);

-- Idempotency-Key of non-idempotent POSTs: the first request's result is replayed.
CREATE TABLE idempotency_keys (
    account_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key          TEXT NOT NULL,
    operation    TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    resource_id  UUID,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);
