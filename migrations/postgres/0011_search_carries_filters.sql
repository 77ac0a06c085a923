-- The search index carries every column the applicant list filters or sorts on, so a search
-- (a name or address prefix that may match tens of thousands of applicants at a million rows)
-- is one index-only range scan of the primary key, which includes them: no applicant row is
-- read for a row the list will not show. A trigger keeps the copies in step with
-- `applications` on every update, in the same transaction, whatever code path made it.
ALTER TABLE application_search RENAME TO application_search_0009;
ALTER INDEX application_search_pkey RENAME TO application_search_0009_pkey;
DROP INDEX application_search_application;

CREATE TABLE application_search (
    term            TEXT COLLATE "C" NOT NULL,
    application_id  UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    status          TEXT NOT NULL,
    country         TEXT NOT NULL,
    languages       TEXT NOT NULL,
    area            TEXT NOT NULL,
    student         BOOLEAN NOT NULL,
    customer        BOOLEAN NOT NULL,
    utm_source      TEXT,
    utm_campaign    TEXT,
    score_bp        BIGINT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    stage_since     TIMESTAMPTZ,
    full_name       TEXT NOT NULL,
    PRIMARY KEY (term, application_id) INCLUDE (status, country, languages, area, student,
        customer, utm_source, utm_campaign, score_bp, created_at, stage_since, full_name)
);

INSERT INTO application_search (term, application_id, status, country, languages, area,
    student, customer, utm_source, utm_campaign, score_bp, created_at, stage_since, full_name)
SELECT s.term, a.id, a.status, a.country, a.languages, a.area, a.student, a.customer,
    a.utm_source, a.utm_campaign, a.score_bp, a.created_at, a.stage_since, a.full_name
FROM application_search_0009 s JOIN applications a ON a.id = s.application_id;
DROP TABLE application_search_0009;
CREATE INDEX application_search_application ON application_search (application_id);

CREATE FUNCTION application_search_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE application_search SET status = NEW.status, country = NEW.country,
        languages = NEW.languages, area = NEW.area, student = NEW.student,
        customer = NEW.customer, utm_source = NEW.utm_source, utm_campaign = NEW.utm_campaign,
        score_bp = NEW.score_bp, created_at = NEW.created_at, stage_since = NEW.stage_since,
        full_name = NEW.full_name
    WHERE application_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER application_search_follows
AFTER UPDATE OF status, country, languages, area, student, customer, utm_source, utm_campaign,
    score_bp, created_at, stage_since, full_name ON applications
FOR EACH ROW
WHEN ((OLD.status, OLD.country, OLD.languages, OLD.area, OLD.student, OLD.customer,
       OLD.utm_source, OLD.utm_campaign, OLD.score_bp, OLD.created_at, OLD.stage_since,
       OLD.full_name)
      IS DISTINCT FROM
      (NEW.status, NEW.country, NEW.languages, NEW.area, NEW.student, NEW.customer,
       NEW.utm_source, NEW.utm_campaign, NEW.score_bp, NEW.created_at, NEW.stage_since,
       NEW.full_name))
EXECUTE FUNCTION application_search_follow();
