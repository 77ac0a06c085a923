-- Which application an email is about, for the applicant's timeline.
ALTER TABLE outbox ADD COLUMN application_id UUID;
UPDATE outbox SET application_id = (payload::json ->> 'application_id')::uuid
WHERE payload::json ->> 'application_id' ~ '^[0-9a-fA-F-]{36}$';
CREATE INDEX outbox_application ON outbox (application_id, created_at);
