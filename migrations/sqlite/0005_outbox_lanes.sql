-- Two lanes: 0 for mail people are waiting on (staff-triggered, verified applicants, results),
-- 1 for the first email to a new signup. Lane 0 is always claimed first, so a flood of signups
-- cannot delay it. The recipient's domain is kept for the per-domain limit on first emails.
ALTER TABLE outbox ADD COLUMN lane INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN recipient_domain TEXT NOT NULL DEFAULT '';
UPDATE outbox SET recipient_domain = lower(substr(recipient, instr(recipient, '@') + 1));
UPDATE outbox SET lane = 1 WHERE template IN ('verify_email', 'application_rejected');
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (status, lane, next_attempt_at);
CREATE INDEX outbox_first_by_domain ON outbox (recipient_domain, lane, sent_at);
