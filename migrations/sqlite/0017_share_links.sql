-- Share links: a patient's link to a report of a date range, for a clinician without an
-- account. Only a hash of the token is kept; a link works until it expires or is revoked, and
-- goes with the patient's account.
CREATE TABLE share_links (
    id             BLOB PRIMARY KEY,
    patient_id     BLOB NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    -- Who the patient made it for, in their own words ("Dr Patel, physio").
    label          TEXT,
    from_date      TEXT NOT NULL,
    to_date        TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    revoked_at     TEXT,
    open_count     INTEGER NOT NULL DEFAULT 0,
    last_opened_at TEXT,
    CHECK (from_date <= to_date)
) STRICT;
CREATE INDEX share_links_by_patient ON share_links (patient_id, created_at);

-- An access through a share link names the link and the address it was opened from.
ALTER TABLE access_log ADD COLUMN share_link_id BLOB;
ALTER TABLE access_log ADD COLUMN client_address TEXT;
