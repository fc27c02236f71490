-- Rate-limit windows while Redis is unavailable, for instances given a Redis (see the PostgreSQL
-- migration). An embedded deployment without Redis counts in process and never writes here.
CREATE TABLE rate_limit_windows (
    key        TEXT PRIMARY KEY,
    count      INTEGER NOT NULL CHECK (count >= 0),
    -- When the window closes, in milliseconds since the Unix epoch.
    ends_at_ms INTEGER NOT NULL
) STRICT;
