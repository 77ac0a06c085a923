-- The fairness report's counts, kept as applications change, like the funnel's. `fair_state`
-- holds, as bits, where an application stands at each fairness step: decided and passed at
-- knockout screening (bits 0, 1), the quiz (2, 3), the shortlist (4, 5), the offer (6, 7) and
-- activation (8, 9). A step counts someone as decided once they passed it or left at it
-- (rejected, withdrawn); the quiz, once they have a score. Per signup day, market, segment
-- (area, student, customer, source, country) and group, `fairness_daily` sums those bits, so
-- the report reads a row per day and group instead of every application.
ALTER TABLE applications ADD COLUMN fair_state INTEGER NOT NULL DEFAULT 0;

CREATE TABLE fairness_daily (
    day                DATE NOT NULL,
    market             TEXT NOT NULL,
    dimension          TEXT NOT NULL,
    grp                TEXT NOT NULL,
    screening_decided  BIGINT NOT NULL DEFAULT 0,
    screening_passed   BIGINT NOT NULL DEFAULT 0,
    quiz_decided       BIGINT NOT NULL DEFAULT 0,
    quiz_passed        BIGINT NOT NULL DEFAULT 0,
    shortlist_decided  BIGINT NOT NULL DEFAULT 0,
    shortlist_passed   BIGINT NOT NULL DEFAULT 0,
    offer_decided      BIGINT NOT NULL DEFAULT 0,
    offer_passed       BIGINT NOT NULL DEFAULT 0,
    activation_decided BIGINT NOT NULL DEFAULT 0,
    activation_passed  BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, day, market, grp)
);

CREATE FUNCTION fair_state_of(screened_out BOOLEAN, score_bp BIGINT, funnel_step INTEGER,
    status TEXT) RETURNS INTEGER IMMUTABLE LANGUAGE sql AS $$
    SELECT 1
        + (CASE WHEN screened_out THEN 0 ELSE 2 END)
        + (CASE WHEN score_bp >= 0 OR funnel_step >= 2 THEN 4 ELSE 0 END)
        + (CASE WHEN funnel_step >= 2 THEN 8 ELSE 0 END)
        + (CASE WHEN funnel_step >= 3 OR (funnel_step = 2 AND status IN ('rejected', 'withdrawn')) THEN 16 ELSE 0 END)
        + (CASE WHEN funnel_step >= 3 THEN 32 ELSE 0 END)
        + (CASE WHEN funnel_step >= 4 OR (funnel_step = 3 AND status IN ('rejected', 'withdrawn')) THEN 64 ELSE 0 END)
        + (CASE WHEN funnel_step >= 4 THEN 128 ELSE 0 END)
        + (CASE WHEN funnel_step >= 6 OR (funnel_step = 5 AND status IN ('rejected', 'withdrawn')) THEN 256 ELSE 0 END)
        + (CASE WHEN funnel_step >= 6 THEN 512 ELSE 0 END)
$$;

UPDATE applications SET fair_state = fair_state_of(screened_out, score_bp, funnel_step, status);

INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT (created_at AT TIME ZONE 'UTC')::date, country, 'area', area, SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1), SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1), SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1), SUM((fair_state >> 9) & 1)
FROM applications GROUP BY 1, 2, 4;
INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT (created_at AT TIME ZONE 'UTC')::date, country, 'student', CASE WHEN student THEN 'student' ELSE 'not a student' END, SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1), SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1), SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1), SUM((fair_state >> 9) & 1)
FROM applications GROUP BY 1, 2, 4;
INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT (created_at AT TIME ZONE 'UTC')::date, country, 'customer', CASE WHEN customer THEN 'customer' ELSE 'not a customer' END, SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1), SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1), SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1), SUM((fair_state >> 9) & 1)
FROM applications GROUP BY 1, 2, 4;
INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT (created_at AT TIME ZONE 'UTC')::date, country, 'source', COALESCE(utm_source, ''), SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1), SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1), SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1), SUM((fair_state >> 9) & 1)
FROM applications GROUP BY 1, 2, 4;
INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT (created_at AT TIME ZONE 'UTC')::date, country, 'country', country, SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1), SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1), SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1), SUM((fair_state >> 9) & 1)
FROM applications GROUP BY 1, 2, 4;

-- The funnel's trigger, now also keeping the fairness state and counts (one BEFORE trigger, so
-- the step it sets is the one the state reads).
CREATE OR REPLACE FUNCTION funnel_follows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    before_step INTEGER := 0;
    after_step INTEGER;
    before_state INTEGER := 0;
    after_state INTEGER;
    v_dim TEXT;
    v_grp TEXT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        before_step := OLD.funnel_step;
        before_state := OLD.fair_state;
    END IF;
    after_step := GREATEST(before_step, funnel_step_of(NEW.status, NEW.email_verified_at));
    IF after_step > before_step OR TG_OP = 'INSERT' THEN
        NEW.funnel_step := after_step;
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
    after_state := fair_state_of(NEW.screened_out, NEW.score_bp, NEW.funnel_step, NEW.status);
    IF after_state = before_state THEN
        RETURN NEW;
    END IF;
    NEW.fair_state := after_state;
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
    RETURN NEW;
END
$$;

DROP TRIGGER funnel_follows ON applications;
CREATE TRIGGER funnel_follows
BEFORE INSERT OR UPDATE OF status, email_verified_at, score_bp, screened_out
ON applications FOR EACH ROW EXECUTE FUNCTION funnel_follows();
