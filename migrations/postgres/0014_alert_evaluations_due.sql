-- Journal writes evaluate only the red-flag rules in the request; the rules over a window of days
-- (persistent, worsening, severe pain, ...) run shortly after in the background, once per patient
-- however many entries arrived (service::alerts, worker::alerts).
--
-- alert_evaluations_due: a patient whose journal changed since their alerts were last evaluated.
-- Every change of an entry marks its patient, in the writing statement itself (the trigger
-- below), so a write that commits is never left unevaluated. `generation` counts the marks: an
-- evaluator clears a mark only if no write marked it again while it was evaluating.
-- `claimed_until` is the lease of the evaluator working on it (any instance); a new mark ends
-- the lease, so the next evaluation sees the new entry.
CREATE TABLE alert_evaluations_due (
    patient_id    UUID PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    generation    BIGINT NOT NULL DEFAULT 1,
    claimed_until TIMESTAMPTZ
);

CREATE FUNCTION mark_alert_evaluation_due() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alert_evaluations_due (patient_id) VALUES (NEW.patient_id)
    ON CONFLICT (patient_id) DO UPDATE
        SET generation = alert_evaluations_due.generation + 1, claimed_until = NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER journal_entries_due_on_insert AFTER INSERT ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION mark_alert_evaluation_due();
CREATE TRIGGER journal_entries_due_on_change
    AFTER UPDATE OF recorded_at, local_date, pain, symptoms, content, deleted ON journal_entries
    FOR EACH ROW EXECUTE FUNCTION mark_alert_evaluation_due();

-- The alerts a write of the entry raised (their ids, comma-separated; empty for none), so that a
-- replay of the write answers with them again.
ALTER TABLE journal_entries ADD COLUMN raised_alerts TEXT NOT NULL DEFAULT '';
