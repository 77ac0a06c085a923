-- The search index carries every column the applicant list filters or sorts on, so a search
-- (a name or address prefix that may match tens of thousands of applicants at a million rows)
-- is answered by one range of this table's own b-tree: no applicant row is read for a row
-- the list will not show. A trigger keeps the copies in step with `applications` on every
-- update, in the same statement, whatever code path made it.
DROP INDEX application_search_application;
ALTER TABLE application_search RENAME TO application_search_0009;

CREATE TABLE application_search (
    term            TEXT NOT NULL,
    application_id  BLOB NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    country         TEXT NOT NULL,
    languages       TEXT NOT NULL,
    area            TEXT NOT NULL,
    student         BOOLEAN NOT NULL,
    customer        BOOLEAN NOT NULL,
    utm_source      TEXT,
    utm_campaign    TEXT,
    score_bp        INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    stage_since     TEXT,
    full_name       TEXT NOT NULL,
    PRIMARY KEY (term, application_id)
) WITHOUT ROWID;

INSERT INTO application_search (term, application_id, status, country, languages, area,
    student, customer, utm_source, utm_campaign, score_bp, created_at, stage_since, full_name)
SELECT s.term, a.id, a.status, a.country, a.languages, a.area, a.student, a.customer,
    a.utm_source, a.utm_campaign, a.score_bp, a.created_at, a.stage_since, a.full_name
FROM application_search_0009 s JOIN applications a ON a.id = s.application_id;
DROP TABLE application_search_0009;
CREATE INDEX application_search_application ON application_search (application_id);

CREATE TRIGGER application_search_follows
AFTER UPDATE OF status, country, languages, area, student, customer, utm_source, utm_campaign,
    score_bp, created_at, stage_since, full_name ON applications
BEGIN
    UPDATE application_search SET status = NEW.status, country = NEW.country,
        languages = NEW.languages, area = NEW.area, student = NEW.student,
        customer = NEW.customer, utm_source = NEW.utm_source, utm_campaign = NEW.utm_campaign,
        score_bp = NEW.score_bp, created_at = NEW.created_at, stage_since = NEW.stage_since,
        full_name = NEW.full_name
    WHERE application_id = NEW.id;
END;
