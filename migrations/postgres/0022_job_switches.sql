-- Jobs an admin switched on or off on /admin/jobs, over what the configuration says: every
-- instance reads the switch before each tick, so one click stops the job everywhere.
CREATE TABLE job_switches (
    job         TEXT PRIMARY KEY NOT NULL,
    enabled     BOOLEAN NOT NULL,
    changed_by  TEXT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL
);
