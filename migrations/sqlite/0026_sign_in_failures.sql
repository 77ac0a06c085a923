-- Failed staff sign-ins, counted per submitted address (hashed, whether or not an account has
-- it, so the slow-down tells nothing about who exists) and per client address (locked after
-- too many failures in a row). `subject` is 'address:<sha-256 hex>' or 'client:<ip>'.
CREATE TABLE sign_in_failures (
    subject         TEXT PRIMARY KEY NOT NULL,
    failures        INTEGER NOT NULL,
    last_failed_at  TEXT NOT NULL,
    locked_until    TEXT
) WITHOUT ROWID;
