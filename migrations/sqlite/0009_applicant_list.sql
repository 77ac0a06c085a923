-- What the recruiters' applicant list filters, sorts and searches on, at a million rows:
-- since when an applicant is in their stage ("stuck" filter), their best quiz score, the keys
-- that find the same person under another address or phone (duplicates, quiz attempts per
-- person), and a search index of name words and address. The person keys and search terms of
-- rows written before this migration are filled in by the application at start (they need the
-- same Unicode folding as new rows).
ALTER TABLE applications ADD COLUMN stage_since TEXT;
UPDATE applications SET stage_since = updated_at;
-- The best scored attempt, -1 before any (so the score sort's keyset has no NULLs).
ALTER TABLE applications ADD COLUMN score_bp INTEGER NOT NULL DEFAULT -1;
UPDATE applications SET score_bp = COALESCE((
    SELECT MAX(q.score_bp) FROM quiz_attempts q WHERE q.application_id = applications.id
), -1);
ALTER TABLE applications ADD COLUMN email_key TEXT;
ALTER TABLE applications ADD COLUMN phone_key TEXT;

CREATE INDEX applications_status_since ON applications (status, stage_since);
CREATE INDEX applications_country_created ON applications (country, created_at, id);
CREATE INDEX applications_source_created ON applications (utm_source, created_at, id);
CREATE INDEX applications_score ON applications (score_bp, id);
CREATE INDEX applications_status_score ON applications (status, score_bp, id);
CREATE INDEX applications_name ON applications (full_name, id);
CREATE INDEX applications_person_email ON applications (email_key);
CREATE INDEX applications_person_phone ON applications (phone_key) WHERE phone_key IS NOT NULL;
CREATE INDEX applications_keys_missing ON applications (id) WHERE email_key IS NULL;

-- One row per word of the name, the whole address and its local part, folded to lower case:
-- a search word matches by prefix, with an index range scan.
-- It carries the stage and country too (kept in step by every stage change), so a search
-- with those filters is answered from this table's own b-tree before any applicant row is read.
CREATE TABLE application_search (
    term            TEXT NOT NULL,
    application_id  BLOB NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    country         TEXT NOT NULL,
    PRIMARY KEY (term, application_id)
) WITHOUT ROWID;
CREATE INDEX application_search_application ON application_search (application_id);

-- Bulk actions: one row per submission key, so a double click or a retry does nothing twice.
CREATE TABLE bulk_actions (
    idempotency_key  TEXT PRIMARY KEY NOT NULL,
    actor            TEXT NOT NULL,
    action           TEXT NOT NULL,
    request          TEXT NOT NULL,
    report           TEXT NOT NULL,
    created_at       TEXT NOT NULL
);
