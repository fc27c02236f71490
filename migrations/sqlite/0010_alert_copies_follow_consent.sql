-- A therapist's copy of a client's alert names the client, so the dispatcher can hold it to the
-- consent in force when it goes out: no live grant with `receive_alerts`, no push.
ALTER TABLE notifications ADD COLUMN about_patient_id BLOB REFERENCES accounts (id) ON DELETE CASCADE;
CREATE INDEX notifications_about_patient ON notifications (about_patient_id) WHERE about_patient_id IS NOT NULL;
