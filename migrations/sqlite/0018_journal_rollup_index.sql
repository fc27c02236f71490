-- Roll-ups and summaries read a patient's entries by local date with their time, pain and
-- symptoms (store::journal rollup_inputs, the alert window reads). This index holds all of them
-- in the order the reads want (`deleted` too, which SQLite needs to call the index covering), so
-- they neither visit the table nor sort; it replaces the index on
-- (patient_id, local_date), which is its prefix.
CREATE INDEX journal_entries_rollup ON journal_entries (patient_id, local_date, recorded_at, id, pain, symptoms, deleted)
    WHERE NOT deleted;
DROP INDEX journal_entries_by_date;
