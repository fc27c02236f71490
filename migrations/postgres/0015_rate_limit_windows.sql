-- Rate-limit windows (failed sign-ins, registrations, invite-code guesses) while Redis is
-- unavailable: every instance counts here then, so a limit still holds across the fleet. Redis
-- keeps them otherwise; closed windows are purged by the maintenance task.
CREATE TABLE rate_limit_windows (
    key        TEXT PRIMARY KEY,
    count      BIGINT NOT NULL CHECK (count >= 0),
    -- When the window closes, in milliseconds since the Unix epoch.
    ends_at_ms BIGINT NOT NULL
);
