-- The VAPID key pair of a scaled deployment that has none configured (push.vapid_private_key):
-- the first instance to start keeps its key here and every other one reads it, so all of them
-- sign with the same key and hand browsers the same applicationServerKey.
CREATE TABLE vapid_keys (
    id          SMALLINT PRIMARY KEY CHECK (id = 1),
    -- base64url of the raw P-256 private scalar: a secret, never logged.
    private_key TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
