-- Two more ends of an offer: `withdrawn` when the applicant leaves the offered stage another way
-- (rejected, withdrawn) while it is open, and `released` when a member who took a seat leaves
-- before going live: the seat is free again, for the cohort's waitlist. `seats_given` counts
-- every seat ever taken, for the cohort's funnel, while `seats_taken` counts those held now.
CREATE TABLE offers_new (
    id              BLOB PRIMARY KEY NOT NULL,
    cohort_id       BLOB NOT NULL REFERENCES cohorts (id),
    application_id  BLOB NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    status          TEXT NOT NULL
                    CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'waitlisted',
                                      'withdrawn', 'released')),
    expires_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    decided_at      TEXT
);
INSERT INTO offers_new SELECT id, cohort_id, application_id, status, expires_at, created_by,
    created_at, decided_at FROM offers;
DROP TABLE offers;
ALTER TABLE offers_new RENAME TO offers;
CREATE UNIQUE INDEX offers_one_open ON offers (application_id)
    WHERE status IN ('pending', 'waitlisted');
CREATE INDEX offers_application ON offers (application_id, created_at);
CREATE INDEX offers_cohort ON offers (cohort_id, status, created_at);

ALTER TABLE cohorts ADD COLUMN seats_given INTEGER NOT NULL DEFAULT 0;
UPDATE cohorts SET seats_given = seats_taken;
