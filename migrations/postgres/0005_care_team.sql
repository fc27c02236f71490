-- The care team: grants of access from a patient to a therapist, the invite codes that create
-- them, and the log of every access to a patient's data by someone else.

-- A patient's consent for one therapist. Ended grants stay as history; at most one grant per
-- patient and therapist is open (not ended) at a time. A grant is live while it is open and
-- `expires_at` (when set) has not passed.
CREATE TABLE care_grants (
    id           UUID PRIMARY KEY,
    patient_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    therapist_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- Scope names between commas (",read_journal,receive_alerts,").
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    ended_at     TIMESTAMPTZ,
    ended_by     TEXT CHECK (ended_by IN ('patient', 'therapist', 'expired')),
    CHECK ((ended_at IS NULL) = (ended_by IS NULL)),
    CHECK (patient_id <> therapist_id)
);
CREATE UNIQUE INDEX care_grants_open_pair ON care_grants (patient_id, therapist_id) WHERE ended_at IS NULL;
CREATE INDEX care_grants_open_by_therapist ON care_grants (therapist_id) WHERE ended_at IS NULL;

-- A single-use code that links a patient and a therapist. Only a hash of the code is kept.
-- A patient's invite carries the scopes it grants; a therapist's proposes them, and the patient
-- chooses when accepting.
CREATE TABLE care_invites (
    id                UUID PRIMARY KEY,
    code_hash         TEXT NOT NULL UNIQUE,
    created_by        UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    creator_role      TEXT NOT NULL CHECK (creator_role IN ('patient', 'therapist')),
    scopes            TEXT NOT NULL,
    access_expires_at TIMESTAMPTZ,
    expires_at        TIMESTAMPTZ NOT NULL,
    created_at        TIMESTAMPTZ NOT NULL,
    used_at           TIMESTAMPTZ,
    used_by           UUID REFERENCES accounts (id) ON DELETE SET NULL,
    grant_id          UUID REFERENCES care_grants (id) ON DELETE SET NULL
);
CREATE INDEX care_invites_by_creator ON care_invites (created_by);
CREATE INDEX care_invites_by_expiry ON care_invites (expires_at);

-- Who read or wrote a patient's data, or tried to and was refused. Never the data itself.
-- Append-only: rows go only with the patient's account.
CREATE TABLE access_log (
    id         UUID PRIMARY KEY,
    patient_id UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- No foreign key: the record outlives the account that made the access.
    actor_id   UUID NOT NULL,
    actor_role TEXT NOT NULL CHECK (actor_role IN ('patient', 'therapist')),
    operation  TEXT NOT NULL,
    outcome    TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied')),
    request_id TEXT,
    at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX access_log_by_patient ON access_log (patient_id, at, id);

CREATE FUNCTION access_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'access_log is append-only';
END;
$$;
CREATE TRIGGER access_log_append_only BEFORE UPDATE ON access_log
    FOR EACH ROW EXECUTE FUNCTION access_log_append_only();
