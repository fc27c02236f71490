-- The VAPID key pair of a deployment that has none configured (push.vapid_private_key), for
-- instances sharing one database. The embedded deployment keeps its key in the data directory
-- (push.vapid_private_key_file) instead; the table is here to keep both schemas alike.
CREATE TABLE vapid_keys (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    -- base64url of the raw P-256 private scalar: a secret, never logged.
    private_key TEXT NOT NULL,
    created_at  TEXT NOT NULL
) STRICT;
