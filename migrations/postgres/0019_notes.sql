-- Notes between a patient and a therapist about one journal entry, session or alert: the
-- therapist writes, the patient answers in the same thread. They are the patient's data: they go
-- with the patient's account, and stay with the patient when the therapist's access ends.
CREATE TABLE notes (
    id           UUID PRIMARY KEY,
    patient_id   UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    -- The therapist of the conversation; null once that account is gone (the patient keeps it).
    therapist_id UUID REFERENCES accounts (id) ON DELETE SET NULL,
    -- The first note of the thread (its own id for the first note).
    thread_id    UUID NOT NULL REFERENCES notes (id) ON DELETE CASCADE,
    author_role  TEXT NOT NULL CHECK (author_role IN ('patient', 'therapist')),
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('entry', 'session', 'alert')),
    -- No foreign key: a note outlives the entry, session or alert it was about.
    subject_id   UUID NOT NULL,
    body         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    -- When the other side read it.
    read_at      TIMESTAMPTZ
);
CREATE INDEX notes_by_patient ON notes (patient_id, created_at, id);
CREATE INDEX notes_by_thread ON notes (thread_id);

-- A notification about a note goes with the note (a therapist's "a client replied" included,
-- so nothing about an erased patient stays in the therapist's inbox).
ALTER TABLE notifications ADD COLUMN note_id UUID REFERENCES notes (id) ON DELETE CASCADE;
CREATE INDEX notifications_note ON notifications (note_id) WHERE note_id IS NOT NULL;
