-- The applicants a recruiter confirmed for a bulk action on "all matching", by the
-- confirmation's key (as `bulk_actions` keys it): the run acts on exactly these, whatever
-- matches by then, and says if the list changed. Ids only; forgotten after a day.
CREATE TABLE bulk_confirmations (
    idempotency_key  TEXT PRIMARY KEY NOT NULL,
    application_ids  TEXT NOT NULL,
    created_at       TEXT NOT NULL
) WITHOUT ROWID;
