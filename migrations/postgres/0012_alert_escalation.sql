-- Escalation and resolution of alerts (domain::alerts::lifecycle).
-- notified_facts: the reports (JSON array of names such as "symptom:fever") the latest
-- notification told of; a report not among them is notified at once. NULL on alerts notified
-- before this column existed: read as the alert's evidence at the time.
ALTER TABLE alerts ADD COLUMN notified_facts TEXT;
-- Each therapist who has seen the alert: a JSON array of {"by": <account id>, "at": <instant>}.
-- Only the patient's own acknowledgement (acknowledged_at/by) stops their notifications.
ALTER TABLE alerts ADD COLUMN therapist_acknowledgements TEXT NOT NULL DEFAULT '[]';
-- Why an alert resolved itself: withdrawn before anyone was told, or cleared.
ALTER TABLE alerts ADD COLUMN resolved_reason TEXT CHECK (resolved_reason IN ('withdrawn', 'cleared'));

-- Acknowledgements by therapists move to their own list and no longer silence the patient.
UPDATE alerts
SET therapist_acknowledgements = json_build_array(json_build_object(
        'by', acknowledged_by::text,
        'at', to_char(acknowledged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')))::text,
    acknowledged_at = NULL,
    acknowledged_by = NULL
WHERE acknowledged_by IS NOT NULL AND acknowledged_by <> patient_id;
