-- The funnel: the furthest step each application has ever reached (applied 0, verified 1, quiz
-- passed 2, shortlisted 3, offered 4, onboarding 5, live 6; a review stage adds nothing, and a
-- later step counts every step before it), and per signup day, market (the applicant's
-- country) and source, how many applications ever reached each step. Kept by triggers in the
-- transaction of every insert and stage change, whatever writes it, so the funnel report sums
-- at most a row per day, market and source instead of reading every application.
-- `offboarded_at` is when a live agent left, for retention.
ALTER TABLE applications ADD COLUMN funnel_step INTEGER NOT NULL DEFAULT 0;
ALTER TABLE applications ADD COLUMN offboarded_at TIMESTAMPTZ;
-- For agents, whole days from signup to going live, and from going live to leaving: the funnel's
-- median and retention count these in the index below instead of reading every agent.
ALTER TABLE applications ADD COLUMN days_to_live BIGINT;
ALTER TABLE applications ADD COLUMN days_live BIGINT;

CREATE FUNCTION whole_days(a TIMESTAMPTZ, b TIMESTAMPTZ) RETURNS BIGINT
IMMUTABLE LANGUAGE sql AS $$
    SELECT floor(extract(epoch FROM b - a) / 86400)::BIGINT
$$;

UPDATE applications SET days_to_live = whole_days(created_at, went_live_at),
    days_live = whole_days(went_live_at, offboarded_at)
WHERE went_live_at IS NOT NULL;
CREATE INDEX applications_agents
    ON applications (created_at, went_live_at, days_to_live, days_live)
    WHERE went_live_at IS NOT NULL;
CREATE INDEX applications_agents_country
    ON applications (country, created_at, went_live_at, days_to_live, days_live)
    WHERE went_live_at IS NOT NULL;

CREATE FUNCTION agent_days_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.days_to_live := whole_days(NEW.created_at, NEW.went_live_at);
    NEW.days_live := whole_days(NEW.went_live_at, NEW.offboarded_at);
    RETURN NEW;
END
$$;

CREATE TRIGGER agent_days_follow BEFORE INSERT OR UPDATE OF went_live_at, offboarded_at
ON applications FOR EACH ROW EXECUTE FUNCTION agent_days_follow();

CREATE TABLE funnel_daily (
    day         DATE NOT NULL,
    market      TEXT NOT NULL,
    source      TEXT NOT NULL,
    applied     BIGINT NOT NULL DEFAULT 0,
    verified    BIGINT NOT NULL DEFAULT 0,
    quiz_passed BIGINT NOT NULL DEFAULT 0,
    shortlisted BIGINT NOT NULL DEFAULT 0,
    offered     BIGINT NOT NULL DEFAULT 0,
    onboarding  BIGINT NOT NULL DEFAULT 0,
    live        BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, market, source)
);
CREATE INDEX funnel_daily_market ON funnel_daily (market, day);

CREATE FUNCTION funnel_step_of(status TEXT, verified_at TIMESTAMPTZ) RETURNS INTEGER
IMMUTABLE LANGUAGE sql AS $$
    SELECT GREATEST(CASE WHEN verified_at IS NOT NULL THEN 1 ELSE 0 END, CASE status
        WHEN 'quiz_passed' THEN 2 WHEN 'shortlisted' THEN 3 WHEN 'offered' THEN 4
        WHEN 'onboarding' THEN 5 WHEN 'live' THEN 6 WHEN 'paused' THEN 6
        WHEN 'offboarded' THEN 6 ELSE 0 END)
$$;

UPDATE applications SET funnel_step = funnel_step_of(status, email_verified_at);

INSERT INTO funnel_daily (day, market, source, applied, verified, quiz_passed, shortlisted, offered, onboarding, live)
SELECT (created_at AT TIME ZONE 'UTC')::date, country, COALESCE(utm_source, ''), COUNT(*),
    COUNT(*) FILTER (WHERE funnel_step >= 1), COUNT(*) FILTER (WHERE funnel_step >= 2),
    COUNT(*) FILTER (WHERE funnel_step >= 3), COUNT(*) FILTER (WHERE funnel_step >= 4),
    COUNT(*) FILTER (WHERE funnel_step >= 5), COUNT(*) FILTER (WHERE funnel_step >= 6)
FROM applications GROUP BY 1, 2, 3;

CREATE FUNCTION funnel_follows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before_step INTEGER := 0;
    after_step INTEGER;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        before_step := OLD.funnel_step;
    END IF;
    after_step := GREATEST(before_step, funnel_step_of(NEW.status, NEW.email_verified_at));
    IF TG_OP = 'UPDATE' AND after_step <= before_step THEN
        RETURN NEW;
    END IF;
    NEW.funnel_step := after_step;
    INSERT INTO funnel_daily AS f (day, market, source, applied, verified, quiz_passed, shortlisted, offered, onboarding, live)
    VALUES ((NEW.created_at AT TIME ZONE 'UTC')::date, NEW.country, COALESCE(NEW.utm_source, ''),
        CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE 0 END,
        CASE WHEN before_step < 1 AND after_step >= 1 THEN 1 ELSE 0 END,
        CASE WHEN before_step < 2 AND after_step >= 2 THEN 1 ELSE 0 END,
        CASE WHEN before_step < 3 AND after_step >= 3 THEN 1 ELSE 0 END,
        CASE WHEN before_step < 4 AND after_step >= 4 THEN 1 ELSE 0 END,
        CASE WHEN before_step < 5 AND after_step >= 5 THEN 1 ELSE 0 END,
        CASE WHEN before_step < 6 AND after_step >= 6 THEN 1 ELSE 0 END)
    ON CONFLICT (day, market, source) DO UPDATE SET applied = f.applied + EXCLUDED.applied,
        verified = f.verified + EXCLUDED.verified,
        quiz_passed = f.quiz_passed + EXCLUDED.quiz_passed,
        shortlisted = f.shortlisted + EXCLUDED.shortlisted,
        offered = f.offered + EXCLUDED.offered,
        onboarding = f.onboarding + EXCLUDED.onboarding,
        live = f.live + EXCLUDED.live;
    RETURN NEW;
END
$$;

CREATE TRIGGER funnel_follows BEFORE INSERT OR UPDATE OF status, email_verified_at
ON applications FOR EACH ROW EXECUTE FUNCTION funnel_follows();

-- Each cohort's own funnel, kept where its offers and activations are written: offers made,
-- and members who ever went live (members who took a seat are `seats_taken`).
ALTER TABLE cohorts ADD COLUMN offers_made BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cohorts ADD COLUMN went_live BIGINT NOT NULL DEFAULT 0;
UPDATE cohorts SET offers_made = (SELECT COUNT(*) FROM offers o WHERE o.cohort_id = cohorts.id),
    went_live = (SELECT COUNT(*) FROM offers o JOIN applications a ON a.id = o.application_id
                 WHERE o.cohort_id = cohorts.id AND o.status = 'accepted'
                 AND a.went_live_at IS NOT NULL);
