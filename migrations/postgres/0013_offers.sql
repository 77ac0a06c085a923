-- Offers of a cohort seat. An offer holds no seat: accepting takes one if one is free
-- (`cohorts.seats_taken`, a conditional update), and an accepted offer is the applicant's
-- membership of the cohort. One open offer (pending, or waiting on the cohort's waitlist) per
-- applicant at a time.
CREATE TABLE offers (
    id              UUID PRIMARY KEY NOT NULL,
    cohort_id       UUID NOT NULL REFERENCES cohorts (id),
    application_id  UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    status          TEXT NOT NULL
                    CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'waitlisted')),
    expires_at      TIMESTAMPTZ NOT NULL,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    decided_at      TIMESTAMPTZ
);
CREATE UNIQUE INDEX offers_one_open ON offers (application_id)
    WHERE status IN ('pending', 'waitlisted');
CREATE INDEX offers_application ON offers (application_id, created_at);
CREATE INDEX offers_cohort ON offers (cohort_id, status, created_at);
