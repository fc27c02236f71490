-- Journal writes evaluate only the red-flag rules in the request; the rules over a window of days
-- (persistent, worsening, severe pain, ...) run shortly after in the background, once per patient
-- however many entries arrived (service::alerts, worker::alerts).
--
-- alert_evaluations_due: a patient whose journal changed since their alerts were last evaluated.
-- Every change of an entry marks its patient, in the writing statement itself (the triggers
-- below), so a write that commits is never left unevaluated. `generation` counts the marks: an
-- evaluator clears a mark only if no write marked it again while it was evaluating.
-- `claimed_until` is the lease of the evaluator working on it; a new mark ends the lease, so
-- the next evaluation sees the new entry.
CREATE TABLE alert_evaluations_due (
    patient_id    BLOB PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    generation    INTEGER NOT NULL DEFAULT 1,
    claimed_until TEXT
) STRICT;

CREATE TRIGGER journal_entries_due_on_insert AFTER INSERT ON journal_entries
BEGIN
    INSERT INTO alert_evaluations_due (patient_id) VALUES (NEW.patient_id)
    ON CONFLICT (patient_id) DO UPDATE SET generation = generation + 1, claimed_until = NULL;
END;

CREATE TRIGGER journal_entries_due_on_change
AFTER UPDATE OF recorded_at, local_date, pain, symptoms, content, deleted ON journal_entries
BEGIN
    INSERT INTO alert_evaluations_due (patient_id) VALUES (NEW.patient_id)
    ON CONFLICT (patient_id) DO UPDATE SET generation = generation + 1, claimed_until = NULL;
END;

-- A new entry is one INSERT that takes the next change number from the journal head; the head
-- follows here, in the same statement, so SQLite's write lock is held for one statement.
CREATE TRIGGER journal_entries_advance_head AFTER INSERT ON journal_entries
BEGIN
    INSERT INTO journal_heads (patient_id, last_seq) VALUES (NEW.patient_id, NEW.change_seq)
    ON CONFLICT (patient_id) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq);
END;

-- The alerts a write of the entry raised (their ids, comma-separated; empty for none), so that a
-- replay of the write answers with them again.
ALTER TABLE journal_entries ADD COLUMN raised_alerts TEXT NOT NULL DEFAULT '';
