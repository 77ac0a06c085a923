-- The fairness report's counts, kept as applications change, like the funnel's. `fair_state`
-- holds, as bits, where an application stands at each fairness step: decided and passed at
-- knockout screening (bits 0, 1), the quiz (2, 3), the shortlist (4, 5), the offer (6, 7) and
-- activation (8, 9). A step counts someone as decided once they passed it or left at it
-- (rejected, withdrawn); the quiz, once they have a score. Per signup day, market, segment
-- (area, student, customer, source, country) and group, `fairness_daily` sums those bits, so
-- the report reads a row per day and group instead of every application.
ALTER TABLE applications ADD COLUMN fair_state INTEGER NOT NULL DEFAULT 0;

CREATE TABLE fairness_daily (
    day                TEXT NOT NULL,
    market             TEXT NOT NULL,
    dimension          TEXT NOT NULL,
    grp                TEXT NOT NULL,
    screening_decided  INTEGER NOT NULL DEFAULT 0,
    screening_passed   INTEGER NOT NULL DEFAULT 0,
    quiz_decided       INTEGER NOT NULL DEFAULT 0,
    quiz_passed        INTEGER NOT NULL DEFAULT 0,
    shortlist_decided  INTEGER NOT NULL DEFAULT 0,
    shortlist_passed   INTEGER NOT NULL DEFAULT 0,
    offer_decided      INTEGER NOT NULL DEFAULT 0,
    offer_passed       INTEGER NOT NULL DEFAULT 0,
    activation_decided INTEGER NOT NULL DEFAULT 0,
    activation_passed  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (dimension, day, market, grp)
) WITHOUT ROWID;

UPDATE applications SET fair_state = 1
        + (CASE WHEN screened_out THEN 0 ELSE 2 END)
        + (CASE WHEN score_bp >= 0 OR funnel_step >= 2 THEN 4 ELSE 0 END)
        + (CASE WHEN funnel_step >= 2 THEN 8 ELSE 0 END)
        + (CASE WHEN funnel_step >= 3 OR (funnel_step = 2 AND status IN ('rejected', 'withdrawn')) THEN 16 ELSE 0 END)
        + (CASE WHEN funnel_step >= 3 THEN 32 ELSE 0 END)
        + (CASE WHEN funnel_step >= 4 OR (funnel_step = 3 AND status IN ('rejected', 'withdrawn')) THEN 64 ELSE 0 END)
        + (CASE WHEN funnel_step >= 4 THEN 128 ELSE 0 END)
        + (CASE WHEN funnel_step >= 6 OR (funnel_step = 5 AND status IN ('rejected', 'withdrawn')) THEN 256 ELSE 0 END)
        + (CASE WHEN funnel_step >= 6 THEN 512 ELSE 0 END);

INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT substr(created_at, 1, 10), country, 'area', area, SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1), SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1), SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1), SUM((fair_state >> 9) & 1)
FROM applications GROUP BY 1, 2, 4;
INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT substr(created_at, 1, 10), country, 'student', CASE WHEN student THEN 'student' ELSE 'not a student' END, SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1), SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1), SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1), SUM((fair_state >> 9) & 1)
FROM applications GROUP BY 1, 2, 4;
INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT substr(created_at, 1, 10), country, 'customer', CASE WHEN customer THEN 'customer' ELSE 'not a customer' END, SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1), SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1), SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1), SUM((fair_state >> 9) & 1)
FROM applications GROUP BY 1, 2, 4;
INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT substr(created_at, 1, 10), country, 'source', COALESCE(utm_source, ''), SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1), SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1), SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1), SUM((fair_state >> 9) & 1)
FROM applications GROUP BY 1, 2, 4;
INSERT INTO fairness_daily (day, market, dimension, grp, screening_decided, screening_passed, quiz_decided, quiz_passed, shortlist_decided, shortlist_passed, offer_decided, offer_passed, activation_decided, activation_passed)
SELECT substr(created_at, 1, 10), country, 'country', country, SUM((fair_state >> 0) & 1), SUM((fair_state >> 1) & 1), SUM((fair_state >> 2) & 1), SUM((fair_state >> 3) & 1), SUM((fair_state >> 4) & 1), SUM((fair_state >> 5) & 1), SUM((fair_state >> 6) & 1), SUM((fair_state >> 7) & 1), SUM((fair_state >> 8) & 1), SUM((fair_state >> 9) & 1)
FROM applications GROUP BY 1, 2, 4;

CREATE TRIGGER fair_state_on_insert AFTER INSERT ON applications
BEGIN
    UPDATE applications SET fair_state = 1
        + (CASE WHEN screened_out THEN 0 ELSE 2 END)
        + (CASE WHEN score_bp >= 0 OR funnel_step >= 2 THEN 4 ELSE 0 END)
        + (CASE WHEN funnel_step >= 2 THEN 8 ELSE 0 END)
        + (CASE WHEN funnel_step >= 3 OR (funnel_step = 2 AND status IN ('rejected', 'withdrawn')) THEN 16 ELSE 0 END)
        + (CASE WHEN funnel_step >= 3 THEN 32 ELSE 0 END)
        + (CASE WHEN funnel_step >= 4 OR (funnel_step = 3 AND status IN ('rejected', 'withdrawn')) THEN 64 ELSE 0 END)
        + (CASE WHEN funnel_step >= 4 THEN 128 ELSE 0 END)
        + (CASE WHEN funnel_step >= 6 OR (funnel_step = 5 AND status IN ('rejected', 'withdrawn')) THEN 256 ELSE 0 END)
        + (CASE WHEN funnel_step >= 6 THEN 512 ELSE 0 END)
    WHERE id = NEW.id;
END;

-- From the row as it is now, not NEW: the funnel's trigger may have moved the step since.
CREATE TRIGGER fair_state_on_update
AFTER UPDATE OF status, funnel_step, score_bp, screened_out ON applications
BEGIN
    UPDATE applications SET fair_state = 1
        + (CASE WHEN screened_out THEN 0 ELSE 2 END)
        + (CASE WHEN score_bp >= 0 OR funnel_step >= 2 THEN 4 ELSE 0 END)
        + (CASE WHEN funnel_step >= 2 THEN 8 ELSE 0 END)
        + (CASE WHEN funnel_step >= 3 OR (funnel_step = 2 AND status IN ('rejected', 'withdrawn')) THEN 16 ELSE 0 END)
        + (CASE WHEN funnel_step >= 3 THEN 32 ELSE 0 END)
        + (CASE WHEN funnel_step >= 4 OR (funnel_step = 3 AND status IN ('rejected', 'withdrawn')) THEN 64 ELSE 0 END)
        + (CASE WHEN funnel_step >= 4 THEN 128 ELSE 0 END)
        + (CASE WHEN funnel_step >= 6 OR (funnel_step = 5 AND status IN ('rejected', 'withdrawn')) THEN 256 ELSE 0 END)
        + (CASE WHEN funnel_step >= 6 THEN 512 ELSE 0 END)
    WHERE id = NEW.id;
END;

-- Each change of state moves every segment's counts by the bits that changed.
CREATE TRIGGER fairness_counts AFTER UPDATE OF fair_state ON applications
WHEN NEW.fair_state <> OLD.fair_state
BEGIN
    INSERT OR IGNORE INTO fairness_daily (day, market, dimension, grp)
        VALUES (substr(NEW.created_at, 1, 10), NEW.country, 'area', NEW.area);
    UPDATE fairness_daily SET
        screening_decided = screening_decided + ((NEW.fair_state >> 0) & 1) - ((OLD.fair_state >> 0) & 1),
        screening_passed = screening_passed + ((NEW.fair_state >> 1) & 1) - ((OLD.fair_state >> 1) & 1),
        quiz_decided = quiz_decided + ((NEW.fair_state >> 2) & 1) - ((OLD.fair_state >> 2) & 1),
        quiz_passed = quiz_passed + ((NEW.fair_state >> 3) & 1) - ((OLD.fair_state >> 3) & 1),
        shortlist_decided = shortlist_decided + ((NEW.fair_state >> 4) & 1) - ((OLD.fair_state >> 4) & 1),
        shortlist_passed = shortlist_passed + ((NEW.fair_state >> 5) & 1) - ((OLD.fair_state >> 5) & 1),
        offer_decided = offer_decided + ((NEW.fair_state >> 6) & 1) - ((OLD.fair_state >> 6) & 1),
        offer_passed = offer_passed + ((NEW.fair_state >> 7) & 1) - ((OLD.fair_state >> 7) & 1),
        activation_decided = activation_decided + ((NEW.fair_state >> 8) & 1) - ((OLD.fair_state >> 8) & 1),
        activation_passed = activation_passed + ((NEW.fair_state >> 9) & 1) - ((OLD.fair_state >> 9) & 1)
    WHERE dimension = 'area' AND day = substr(NEW.created_at, 1, 10) AND market = NEW.country
        AND grp = NEW.area;
    INSERT OR IGNORE INTO fairness_daily (day, market, dimension, grp)
        VALUES (substr(NEW.created_at, 1, 10), NEW.country, 'student', CASE WHEN NEW.student THEN 'student' ELSE 'not a student' END);
    UPDATE fairness_daily SET
        screening_decided = screening_decided + ((NEW.fair_state >> 0) & 1) - ((OLD.fair_state >> 0) & 1),
        screening_passed = screening_passed + ((NEW.fair_state >> 1) & 1) - ((OLD.fair_state >> 1) & 1),
        quiz_decided = quiz_decided + ((NEW.fair_state >> 2) & 1) - ((OLD.fair_state >> 2) & 1),
        quiz_passed = quiz_passed + ((NEW.fair_state >> 3) & 1) - ((OLD.fair_state >> 3) & 1),
        shortlist_decided = shortlist_decided + ((NEW.fair_state >> 4) & 1) - ((OLD.fair_state >> 4) & 1),
        shortlist_passed = shortlist_passed + ((NEW.fair_state >> 5) & 1) - ((OLD.fair_state >> 5) & 1),
        offer_decided = offer_decided + ((NEW.fair_state >> 6) & 1) - ((OLD.fair_state >> 6) & 1),
        offer_passed = offer_passed + ((NEW.fair_state >> 7) & 1) - ((OLD.fair_state >> 7) & 1),
        activation_decided = activation_decided + ((NEW.fair_state >> 8) & 1) - ((OLD.fair_state >> 8) & 1),
        activation_passed = activation_passed + ((NEW.fair_state >> 9) & 1) - ((OLD.fair_state >> 9) & 1)
    WHERE dimension = 'student' AND day = substr(NEW.created_at, 1, 10) AND market = NEW.country
        AND grp = CASE WHEN NEW.student THEN 'student' ELSE 'not a student' END;
    INSERT OR IGNORE INTO fairness_daily (day, market, dimension, grp)
        VALUES (substr(NEW.created_at, 1, 10), NEW.country, 'customer', CASE WHEN NEW.customer THEN 'customer' ELSE 'not a customer' END);
    UPDATE fairness_daily SET
        screening_decided = screening_decided + ((NEW.fair_state >> 0) & 1) - ((OLD.fair_state >> 0) & 1),
        screening_passed = screening_passed + ((NEW.fair_state >> 1) & 1) - ((OLD.fair_state >> 1) & 1),
        quiz_decided = quiz_decided + ((NEW.fair_state >> 2) & 1) - ((OLD.fair_state >> 2) & 1),
        quiz_passed = quiz_passed + ((NEW.fair_state >> 3) & 1) - ((OLD.fair_state >> 3) & 1),
        shortlist_decided = shortlist_decided + ((NEW.fair_state >> 4) & 1) - ((OLD.fair_state >> 4) & 1),
        shortlist_passed = shortlist_passed + ((NEW.fair_state >> 5) & 1) - ((OLD.fair_state >> 5) & 1),
        offer_decided = offer_decided + ((NEW.fair_state >> 6) & 1) - ((OLD.fair_state >> 6) & 1),
        offer_passed = offer_passed + ((NEW.fair_state >> 7) & 1) - ((OLD.fair_state >> 7) & 1),
        activation_decided = activation_decided + ((NEW.fair_state >> 8) & 1) - ((OLD.fair_state >> 8) & 1),
        activation_passed = activation_passed + ((NEW.fair_state >> 9) & 1) - ((OLD.fair_state >> 9) & 1)
    WHERE dimension = 'customer' AND day = substr(NEW.created_at, 1, 10) AND market = NEW.country
        AND grp = CASE WHEN NEW.customer THEN 'customer' ELSE 'not a customer' END;
    INSERT OR IGNORE INTO fairness_daily (day, market, dimension, grp)
        VALUES (substr(NEW.created_at, 1, 10), NEW.country, 'source', COALESCE(NEW.utm_source, ''));
    UPDATE fairness_daily SET
        screening_decided = screening_decided + ((NEW.fair_state >> 0) & 1) - ((OLD.fair_state >> 0) & 1),
        screening_passed = screening_passed + ((NEW.fair_state >> 1) & 1) - ((OLD.fair_state >> 1) & 1),
        quiz_decided = quiz_decided + ((NEW.fair_state >> 2) & 1) - ((OLD.fair_state >> 2) & 1),
        quiz_passed = quiz_passed + ((NEW.fair_state >> 3) & 1) - ((OLD.fair_state >> 3) & 1),
        shortlist_decided = shortlist_decided + ((NEW.fair_state >> 4) & 1) - ((OLD.fair_state >> 4) & 1),
        shortlist_passed = shortlist_passed + ((NEW.fair_state >> 5) & 1) - ((OLD.fair_state >> 5) & 1),
        offer_decided = offer_decided + ((NEW.fair_state >> 6) & 1) - ((OLD.fair_state >> 6) & 1),
        offer_passed = offer_passed + ((NEW.fair_state >> 7) & 1) - ((OLD.fair_state >> 7) & 1),
        activation_decided = activation_decided + ((NEW.fair_state >> 8) & 1) - ((OLD.fair_state >> 8) & 1),
        activation_passed = activation_passed + ((NEW.fair_state >> 9) & 1) - ((OLD.fair_state >> 9) & 1)
    WHERE dimension = 'source' AND day = substr(NEW.created_at, 1, 10) AND market = NEW.country
        AND grp = COALESCE(NEW.utm_source, '');
    INSERT OR IGNORE INTO fairness_daily (day, market, dimension, grp)
        VALUES (substr(NEW.created_at, 1, 10), NEW.country, 'country', NEW.country);
    UPDATE fairness_daily SET
        screening_decided = screening_decided + ((NEW.fair_state >> 0) & 1) - ((OLD.fair_state >> 0) & 1),
        screening_passed = screening_passed + ((NEW.fair_state >> 1) & 1) - ((OLD.fair_state >> 1) & 1),
        quiz_decided = quiz_decided + ((NEW.fair_state >> 2) & 1) - ((OLD.fair_state >> 2) & 1),
        quiz_passed = quiz_passed + ((NEW.fair_state >> 3) & 1) - ((OLD.fair_state >> 3) & 1),
        shortlist_decided = shortlist_decided + ((NEW.fair_state >> 4) & 1) - ((OLD.fair_state >> 4) & 1),
        shortlist_passed = shortlist_passed + ((NEW.fair_state >> 5) & 1) - ((OLD.fair_state >> 5) & 1),
        offer_decided = offer_decided + ((NEW.fair_state >> 6) & 1) - ((OLD.fair_state >> 6) & 1),
        offer_passed = offer_passed + ((NEW.fair_state >> 7) & 1) - ((OLD.fair_state >> 7) & 1),
        activation_decided = activation_decided + ((NEW.fair_state >> 8) & 1) - ((OLD.fair_state >> 8) & 1),
        activation_passed = activation_passed + ((NEW.fair_state >> 9) & 1) - ((OLD.fair_state >> 9) & 1)
    WHERE dimension = 'country' AND day = substr(NEW.created_at, 1, 10) AND market = NEW.country
        AND grp = NEW.country;
END;
