-- Where a session's aftercare plan came from: `default` follows the session's kind when the
-- session is changed; `therapist` (a template assigned to the patient) is kept whatever the kind.
ALTER TABLE massage_sessions ADD COLUMN plan_source TEXT NOT NULL DEFAULT 'default'
    CHECK (plan_source IN ('default', 'therapist'));

-- Sessions recorded before the column existed: the defaults are the only plans with these names.
UPDATE massage_sessions SET plan_source = 'therapist'
WHERE json_valid(template) AND json_extract(template, '$.name') NOT IN ('Deep tissue aftercare', 'Gentle aftercare');
