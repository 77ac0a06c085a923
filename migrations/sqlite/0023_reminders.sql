-- Scheduled reminders: one row per reminder an applicant was sent, written in the same
-- transaction as its outbox row, so a job's tick (on any instance, run again or caught up)
-- queues each reminder once. `kind` names the reminder: verify, quiz:1, quiz:2,
-- offer:<offer id>, start:3:<cohort id>, ...
CREATE TABLE reminders (
    application_id  BLOB NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    sent_at         TEXT NOT NULL,
    PRIMARY KEY (application_id, kind)
) WITHOUT ROWID;

-- When the applicant turned off non-essential mail (reminders and nudges) with the one-click
-- link; essential mail (verification, quiz invitation, results, offers) still goes.
ALTER TABLE applications ADD COLUMN unsubscribed_at TEXT;

-- Pending offers by expiry, for the offer reminder job.
CREATE INDEX offers_open_expiry ON offers (status, expires_at);

-- Mail sent to a domain lately, for the per-domain send rate every dispatcher reads.
CREATE INDEX outbox_domain_sent ON outbox (recipient_domain, sent_at);
