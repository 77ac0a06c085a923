-- The funnel: the furthest step each application has ever reached (applied 0, verified 1, quiz
-- passed 2, shortlisted 3, offered 4, onboarding 5, live 6; a review stage adds nothing, and a
-- later step counts every step before it), and per signup day, market (the applicant's
-- country) and source, how many applications ever reached each step. Kept by triggers in the
-- transaction of every insert and stage change, whatever writes it, so the funnel report sums
-- at most a row per day, market and source instead of reading every application.
-- `offboarded_at` is when a live agent left, for retention.
ALTER TABLE applications ADD COLUMN funnel_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN offboarded_at TEXT;
-- For agents, whole days from signup to going live, and from going live to leaving: the funnel's
-- median and retention count these in the index below instead of reading every agent.
ALTER TABLE applications ADD COLUMN days_to_live INTEGER;
ALTER TABLE applications ADD COLUMN days_live INTEGER;
UPDATE applications SET
    days_to_live = CAST(julianday(went_live_at) - julianday(created_at) AS INTEGER),
    days_live = CAST(julianday(offboarded_at) - julianday(went_live_at) AS INTEGER)
WHERE went_live_at IS NOT NULL;
CREATE INDEX applications_agents
    ON applications (created_at, went_live_at, days_to_live, days_live)
    WHERE went_live_at IS NOT NULL;
CREATE INDEX applications_agents_country
    ON applications (country, created_at, went_live_at, days_to_live, days_live)
    WHERE went_live_at IS NOT NULL;

CREATE TRIGGER agent_days_on_insert AFTER INSERT ON applications
WHEN NEW.went_live_at IS NOT NULL
BEGIN
    UPDATE applications SET
        days_to_live = CAST(julianday(NEW.went_live_at) - julianday(NEW.created_at) AS INTEGER),
        days_live = CAST(julianday(NEW.offboarded_at) - julianday(NEW.went_live_at) AS INTEGER)
    WHERE id = NEW.id;
END;

CREATE TRIGGER agent_days_on_update AFTER UPDATE OF went_live_at, offboarded_at ON applications
BEGIN
    UPDATE applications SET
        days_to_live = CAST(julianday(NEW.went_live_at) - julianday(NEW.created_at) AS INTEGER),
        days_live = CAST(julianday(NEW.offboarded_at) - julianday(NEW.went_live_at) AS INTEGER)
    WHERE id = NEW.id;
END;

CREATE TABLE funnel_daily (
    day         TEXT NOT NULL,
    market      TEXT NOT NULL,
    source      TEXT NOT NULL,
    applied     INTEGER NOT NULL DEFAULT 0,
    verified    INTEGER NOT NULL DEFAULT 0,
    quiz_passed INTEGER NOT NULL DEFAULT 0,
    shortlisted INTEGER NOT NULL DEFAULT 0,
    offered     INTEGER NOT NULL DEFAULT 0,
    onboarding  INTEGER NOT NULL DEFAULT 0,
    live        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, market, source)
) WITHOUT ROWID;
CREATE INDEX funnel_daily_market ON funnel_daily (market, day);

UPDATE applications SET funnel_step = MAX(CASE WHEN email_verified_at IS NOT NULL THEN 1 ELSE 0 END,
    CASE status WHEN 'quiz_passed' THEN 2 WHEN 'shortlisted' THEN 3 WHEN 'offered' THEN 4
    WHEN 'onboarding' THEN 5 WHEN 'live' THEN 6 WHEN 'paused' THEN 6 WHEN 'offboarded' THEN 6
    ELSE 0 END);

INSERT INTO funnel_daily (day, market, source, applied, verified, quiz_passed, shortlisted, offered, onboarding, live)
SELECT substr(created_at, 1, 10), country, COALESCE(utm_source, ''), COUNT(*),
    SUM(funnel_step >= 1), SUM(funnel_step >= 2), SUM(funnel_step >= 3), SUM(funnel_step >= 4),
    SUM(funnel_step >= 5), SUM(funnel_step >= 6)
FROM applications GROUP BY 1, 2, 3;

CREATE TRIGGER funnel_on_insert AFTER INSERT ON applications
BEGIN
    UPDATE applications SET funnel_step = MAX(CASE WHEN NEW.email_verified_at IS NOT NULL THEN 1 ELSE 0 END, CASE NEW.status
        WHEN 'quiz_passed' THEN 2 WHEN 'shortlisted' THEN 3 WHEN 'offered' THEN 4
        WHEN 'onboarding' THEN 5 WHEN 'live' THEN 6 WHEN 'paused' THEN 6
        WHEN 'offboarded' THEN 6 ELSE 0 END)
    WHERE id = NEW.id;
    INSERT OR IGNORE INTO funnel_daily (day, market, source)
        VALUES (substr(NEW.created_at, 1, 10), NEW.country, COALESCE(NEW.utm_source, ''));
    UPDATE funnel_daily SET applied = applied + 1,
        verified = verified + (a.funnel_step >= 1),
        quiz_passed = quiz_passed + (a.funnel_step >= 2),
        shortlisted = shortlisted + (a.funnel_step >= 3),
        offered = offered + (a.funnel_step >= 4),
        onboarding = onboarding + (a.funnel_step >= 5),
        live = live + (a.funnel_step >= 6)
    FROM (SELECT funnel_step FROM applications WHERE id = NEW.id) AS a
    WHERE day = substr(NEW.created_at, 1, 10) AND market = NEW.country
        AND source = COALESCE(NEW.utm_source, '');
END;

-- Only when the step rises: OLD.funnel_step is what was counted before.
CREATE TRIGGER funnel_on_update AFTER UPDATE OF status, email_verified_at ON applications
WHEN MAX(CASE WHEN NEW.email_verified_at IS NOT NULL THEN 1 ELSE 0 END, CASE NEW.status
        WHEN 'quiz_passed' THEN 2 WHEN 'shortlisted' THEN 3 WHEN 'offered' THEN 4
        WHEN 'onboarding' THEN 5 WHEN 'live' THEN 6 WHEN 'paused' THEN 6
        WHEN 'offboarded' THEN 6 ELSE 0 END) > OLD.funnel_step
BEGIN
    UPDATE applications SET funnel_step = MAX(CASE WHEN NEW.email_verified_at IS NOT NULL THEN 1 ELSE 0 END, CASE NEW.status
        WHEN 'quiz_passed' THEN 2 WHEN 'shortlisted' THEN 3 WHEN 'offered' THEN 4
        WHEN 'onboarding' THEN 5 WHEN 'live' THEN 6 WHEN 'paused' THEN 6
        WHEN 'offboarded' THEN 6 ELSE 0 END)
    WHERE id = NEW.id;
    INSERT OR IGNORE INTO funnel_daily (day, market, source)
        VALUES (substr(NEW.created_at, 1, 10), NEW.country, COALESCE(NEW.utm_source, ''));
    UPDATE funnel_daily SET
        verified = verified + (OLD.funnel_step < 1 AND a.funnel_step >= 1),
        quiz_passed = quiz_passed + (OLD.funnel_step < 2 AND a.funnel_step >= 2),
        shortlisted = shortlisted + (OLD.funnel_step < 3 AND a.funnel_step >= 3),
        offered = offered + (OLD.funnel_step < 4 AND a.funnel_step >= 4),
        onboarding = onboarding + (OLD.funnel_step < 5 AND a.funnel_step >= 5),
        live = live + (OLD.funnel_step < 6 AND a.funnel_step >= 6)
    FROM (SELECT funnel_step FROM applications WHERE id = NEW.id) AS a
    WHERE day = substr(NEW.created_at, 1, 10) AND market = NEW.country
        AND source = COALESCE(NEW.utm_source, '');
END;

-- Each cohort's own funnel, kept where its offers and activations are written: offers made,
-- and members who ever went live (members who took a seat are `seats_taken`).
ALTER TABLE cohorts ADD COLUMN offers_made INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cohorts ADD COLUMN went_live INTEGER NOT NULL DEFAULT 0;
UPDATE cohorts SET offers_made = (SELECT COUNT(*) FROM offers o WHERE o.cohort_id = cohorts.id),
    went_live = (SELECT COUNT(*) FROM offers o JOIN applications a ON a.id = o.application_id
                 WHERE o.cohort_id = cohorts.id AND o.status = 'accepted'
                 AND a.went_live_at IS NOT NULL);
