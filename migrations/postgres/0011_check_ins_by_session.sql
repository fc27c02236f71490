-- The caseload reads each client's last session with its 24 h and 48 h soreness answers: one
-- index lookup per session instead of a scan of every answer.
CREATE INDEX soreness_check_ins_session ON soreness_check_ins (session_id, hours_after);
