-- Share links: a patient's link to a report of a date range, for a clinician without an
-- account. Only a hash of the token is kept; a link works until it expires or is revoked, and
-- goes with the patient's account.
CREATE TABLE share_links (
    id             UUID PRIMARY KEY,
    patient_id     UUID NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash     TEXT NOT NULL UNIQUE,
    -- Who the patient made it for, in their own words ("Dr Patel, physio").
    label          TEXT,
    from_date      DATE NOT NULL,
    to_date        DATE NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    open_count     BIGINT NOT NULL DEFAULT 0,
    last_opened_at TIMESTAMPTZ,
    CHECK (from_date <= to_date)
);
CREATE INDEX share_links_by_patient ON share_links (patient_id, created_at);

-- An access through a share link names the link and the address it was opened from.
ALTER TABLE access_log ADD COLUMN share_link_id UUID;
ALTER TABLE access_log ADD COLUMN client_address TEXT;
