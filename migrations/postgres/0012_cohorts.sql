-- Pilot cohorts: a group of new agents for one market and support language who start together.
-- Each cohort has a capacity, an owner (a recruiter; empty until one takes it when an API key
-- created the cohort), and an onboarding checklist copied from a template when the cohort is
-- made, so editing the template later changes no running cohort. `marked` is what a recruiter
-- set (`live`, then `closed`); before that the status follows the start date (planned, then
-- onboarding). `seats_taken` counts accepted seats: an accept takes one with a conditional
-- update, and the CHECK makes exceeding the capacity impossible whatever the code does.
CREATE TABLE checklist_template_items (
    template   TEXT NOT NULL,
    key        TEXT NOT NULL,
    label      TEXT NOT NULL,
    required   BOOLEAN NOT NULL,
    ticked_by  TEXT NOT NULL CHECK (ticked_by IN ('applicant', 'recruiter')),
    records    TEXT CHECK (records IN ('bandwidth_mbps')),
    position   INTEGER NOT NULL,
    PRIMARY KEY (template, key)
);

CREATE TABLE cohorts (
    id           UUID PRIMARY KEY,
    name         TEXT NOT NULL,
    market       TEXT NOT NULL,
    language     TEXT NOT NULL,
    start_date   DATE NOT NULL,
    capacity     BIGINT NOT NULL CHECK (capacity > 0),
    seats_taken  BIGINT NOT NULL DEFAULT 0 CHECK (seats_taken >= 0 AND seats_taken <= capacity),
    owner_id     UUID REFERENCES users (id),
    waitlist     BOOLEAN NOT NULL DEFAULT FALSE,
    marked       TEXT CHECK (marked IN ('live', 'closed')),
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX cohorts_name ON cohorts (name);
CREATE INDEX cohorts_start ON cohorts (start_date, id);

CREATE TABLE cohort_checklist_items (
    cohort_id  UUID NOT NULL REFERENCES cohorts (id) ON DELETE CASCADE,
    key        TEXT NOT NULL,
    label      TEXT NOT NULL,
    required   BOOLEAN NOT NULL,
    ticked_by  TEXT NOT NULL CHECK (ticked_by IN ('applicant', 'recruiter')),
    records    TEXT CHECK (records IN ('bandwidth_mbps')),
    position   INTEGER NOT NULL,
    PRIMARY KEY (cohort_id, key)
);
