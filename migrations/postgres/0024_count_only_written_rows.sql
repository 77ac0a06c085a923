-- A repeat signup is an INSERT … ON CONFLICT DO NOTHING. PostgreSQL fires BEFORE INSERT
-- triggers for the proposed row before it finds the conflict, so the funnel and fairness counts,
-- kept by the BEFORE trigger, counted every repeat signup as a new applicant. The BEFORE trigger
-- now only sets the row's step and state; an AFTER trigger, which fires only for rows actually
-- written, moves the counts. The counts are then recounted from the applications.
CREATE OR REPLACE FUNCTION funnel_follows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before_step INTEGER := 0;
    after_step INTEGER;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        before_step := OLD.funnel_step;
    END IF;
    after_step := GREATEST(before_step, funnel_step_of(NEW.status, NEW.email_verified_at));
    IF after_step > before_step OR TG_OP = 'INSERT' THEN
        NEW.funnel_step := after_step;
    END IF;
    NEW.fair_state := fair_state_of(NEW.screened_out, NEW.score_bp, NEW.funnel_step, NEW.status);
    RETURN NEW;
END
$$;

CREATE FUNCTION funnel_counts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before_step INTEGER := 0;
    after_step INTEGER := NEW.funnel_step;
    before_state INTEGER := 0;
    after_state INTEGER := NEW.fair_state;
    v_dim TEXT;
    v_grp TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        before_step := OLD.funnel_step;
        before_state := OLD.fair_state;
    END IF;
    IF after_step > before_step OR TG_OP = 'INSERT' THEN
        INSERT INTO funnel_daily AS f (day, market, source, applied, verified, quiz_passed,
            shortlisted, offered, onboarding, live)
        VALUES ((NEW.created_at AT TIME ZONE 'UTC')::date, NEW.country,
            COALESCE(NEW.utm_source, ''), CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE 0 END,
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
    END IF;
    IF after_state = before_state THEN
        RETURN NULL;
    END IF;
    FOREACH v_dim IN ARRAY ARRAY['area', 'student', 'customer', 'source', 'country'] LOOP
        v_grp := CASE v_dim
            WHEN 'area' THEN NEW.area
            WHEN 'student' THEN CASE WHEN NEW.student THEN 'student' ELSE 'not a student' END
            WHEN 'customer' THEN CASE WHEN NEW.customer THEN 'customer' ELSE 'not a customer' END
            WHEN 'source' THEN COALESCE(NEW.utm_source, '')
            ELSE NEW.country END;
        INSERT INTO fairness_daily AS f (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
        VALUES ((NEW.created_at AT TIME ZONE 'UTC')::date, NEW.country, v_dim, v_grp,
            ((after_state >> 0) & 1) - ((before_state >> 0) & 1),
            ((after_state >> 1) & 1) - ((before_state >> 1) & 1),
            ((after_state >> 2) & 1) - ((before_state >> 2) & 1),
            ((after_state >> 3) & 1) - ((before_state >> 3) & 1),
            ((after_state >> 4) & 1) - ((before_state >> 4) & 1),
            ((after_state >> 5) & 1) - ((before_state >> 5) & 1),
            ((after_state >> 6) & 1) - ((before_state >> 6) & 1),
            ((after_state >> 7) & 1) - ((before_state >> 7) & 1),
            ((after_state >> 8) & 1) - ((before_state >> 8) & 1),
            ((after_state >> 9) & 1) - ((before_state >> 9) & 1))
        ON CONFLICT (dimension, day, market, grp) DO UPDATE SET
            screening_decided = f.screening_decided + EXCLUDED.screening_decided,
            screening_passed = f.screening_passed + EXCLUDED.screening_passed,
            quiz_decided = f.quiz_decided + EXCLUDED.quiz_decided,
            quiz_passed = f.quiz_passed + EXCLUDED.quiz_passed,
            shortlist_decided = f.shortlist_decided + EXCLUDED.shortlist_decided,
            shortlist_passed = f.shortlist_passed + EXCLUDED.shortlist_passed,
            offer_decided = f.offer_decided + EXCLUDED.offer_decided,
            offer_passed = f.offer_passed + EXCLUDED.offer_passed,
            activation_decided = f.activation_decided + EXCLUDED.activation_decided,
            activation_passed = f.activation_passed + EXCLUDED.activation_passed;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER funnel_counts
AFTER INSERT OR UPDATE OF status, email_verified_at, score_bp, screened_out
ON applications FOR EACH ROW EXECUTE FUNCTION funnel_counts();

-- The counts as they should have been.
DELETE FROM funnel_daily;
INSERT INTO funnel_daily (day, market, source, applied, verified, quiz_passed, shortlisted,
    offered, onboarding, live)
SELECT (created_at AT TIME ZONE 'UTC')::date, country, COALESCE(utm_source, ''), COUNT(*),
    SUM(CASE WHEN funnel_step >= 1 THEN 1 ELSE 0 END), SUM(CASE WHEN funnel_step >= 2 THEN 1 ELSE 0 END),
    SUM(CASE WHEN funnel_step >= 3 THEN 1 ELSE 0 END), SUM(CASE WHEN funnel_step >= 4 THEN 1 ELSE 0 END),
    SUM(CASE WHEN funnel_step >= 5 THEN 1 ELSE 0 END), SUM(CASE WHEN funnel_step >= 6 THEN 1 ELSE 0 END)
FROM applications GROUP BY 1, 2, 3;
DELETE FROM fairness_daily;
INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT (created_at AT TIME ZONE 'UTC')::date, country, d.dim,
    CASE d.dim
        WHEN 'area' THEN area
        WHEN 'student' THEN CASE WHEN student THEN 'student' ELSE 'not a student' END
        WHEN 'customer' THEN CASE WHEN customer THEN 'customer' ELSE 'not a customer' END
        WHEN 'source' THEN COALESCE(utm_source, '')
        ELSE country END,
    SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1),
    SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1),
    SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1),
    SUM((fair_state >> 9) & 1)
FROM applications
CROSS JOIN (VALUES ('area'), ('student'), ('customer'), ('source'), ('country')) AS d (dim)
GROUP BY 1, 2, 3, 4;
