-- Onboarding: the checklist items each cohort member has done (who ticked it, when, and a figure
-- where the item records one, the bandwidth of the equipment check), and when an agent went
-- live. A member is the applicant whose offer of the cohort was accepted.
CREATE TABLE checklist_ticks (
    application_id  UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    cohort_id       UUID NOT NULL REFERENCES cohorts (id),
    item_key        TEXT NOT NULL,
    value           DOUBLE PRECISION,
    done_by         TEXT NOT NULL,
    done_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (application_id, item_key),
    FOREIGN KEY (cohort_id, item_key) REFERENCES cohort_checklist_items (cohort_id, key)
);
CREATE INDEX checklist_ticks_cohort ON checklist_ticks (cohort_id);

ALTER TABLE applications ADD COLUMN went_live_at TIMESTAMPTZ;
