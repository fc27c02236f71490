-- Massage sessions, the health screen, aftercare templates, plan steps and soreness check-ins.
-- SQLite: UUIDs are BLOBs, instants fixed-width RFC 3339 TEXT, dates YYYY-MM-DD TEXT.

CREATE TABLE health_screens (
    patient_id BLOB PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    -- domain::screening::HealthScreen as JSON.
    screen     TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- Therapist-defined aftercare plans.
CREATE TABLE aftercare_templates (
    id           BLOB PRIMARY KEY,
    therapist_id BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    -- domain::aftercare::Template as JSON.
    template     TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;
CREATE INDEX aftercare_templates_therapist ON aftercare_templates (therapist_id);

-- The template a therapist set for one client; used for the sessions they record.
CREATE TABLE template_assignments (
    patient_id   BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    therapist_id BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    template_id  BLOB NOT NULL REFERENCES aftercare_templates (id) ON DELETE CASCADE,
    assigned_at  TEXT NOT NULL,
    PRIMARY KEY (patient_id, therapist_id)
) STRICT;

CREATE TABLE massage_sessions (
    id               BLOB PRIMARY KEY,
    patient_id       BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    recorded_by      BLOB REFERENCES accounts (id) ON DELETE SET NULL,
    started_at       TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 1 AND 600),
    kind             TEXT NOT NULL,
    -- JSON arrays of names.
    techniques       TEXT NOT NULL,
    regions          TEXT NOT NULL,
    pressure         TEXT,
    pain_before      INTEGER CHECK (pain_before BETWEEN 0 AND 10),
    pain_after       INTEGER CHECK (pain_after BETWEEN 0 AND 10),
    notes            TEXT,
    -- The plan template the steps were made from (JSON), so later template edits do not
    -- rewrite history.
    template         TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
) STRICT;
CREATE INDEX massage_sessions_patient ON massage_sessions (patient_id, started_at);

CREATE TABLE aftercare_steps (
    id           BLOB PRIMARY KEY,
    session_id   BLOB NOT NULL REFERENCES massage_sessions (id) ON DELETE CASCADE,
    patient_id   BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    step_key     TEXT NOT NULL,
    position     INTEGER NOT NULL,
    -- domain::aftercare::StepKind as JSON.
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    due_at       TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'skipped')),
    completed_at TEXT,
    UNIQUE (session_id, step_key)
) STRICT;
CREATE INDEX aftercare_steps_patient ON aftercare_steps (patient_id, due_at);

-- Answers to the soreness check-in steps (24 h, 48 h after a session).
CREATE TABLE soreness_check_ins (
    step_id      BLOB PRIMARY KEY REFERENCES aftercare_steps (id) ON DELETE CASCADE,
    session_id   BLOB NOT NULL REFERENCES massage_sessions (id) ON DELETE CASCADE,
    patient_id   BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    hours_after  INTEGER NOT NULL,
    soreness     INTEGER NOT NULL CHECK (soreness BETWEEN 0 AND 10),
    leg_swelling INTEGER NOT NULL,
    answered_at  TEXT NOT NULL,
    -- The patient's local date of the answer, for the alert rules' look-back.
    answered_on  TEXT NOT NULL
) STRICT;
CREATE INDEX soreness_check_ins_patient ON soreness_check_ins (patient_id, answered_on);
