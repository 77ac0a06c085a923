-- Tags recruiters put on applicants, for filtering and bulk actions.
CREATE TABLE application_tags (
    application_id  BLOB NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    tag             TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (application_id, tag)
);
CREATE INDEX application_tags_tag ON application_tags (tag, application_id);
