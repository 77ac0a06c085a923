-- PostgreSQL's BEFORE INSERT trigger counted repeat signups (INSERT … ON CONFLICT DO NOTHING) in
-- the funnel and fairness counts; see migrations/postgres/0024. SQLite's counting triggers are
-- AFTER triggers, which fire only for rows written, so nothing changes here.
SELECT 1;
