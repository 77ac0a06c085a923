-- Which application an email is about, for the applicant's timeline.
ALTER TABLE outbox ADD COLUMN application_id BLOB;
UPDATE outbox SET application_id = (
    SELECT a.id FROM applications a
    WHERE lower(hex(a.id)) = replace(lower(json_extract(outbox.payload, '$.application_id')), '-', '')
) WHERE json_valid(payload) AND json_extract(payload, '$.application_id') IS NOT NULL;
CREATE INDEX outbox_application ON outbox (application_id, created_at);
