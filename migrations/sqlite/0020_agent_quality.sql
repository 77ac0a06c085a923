-- Weekly quality figures per agent from the support platform (CSAT and QA score, each 0-100),
-- imported as CSV. The quality report correlates them, and 90-day retention, with the quiz
-- scores the agents had when they applied. Importing the same agent and week again replaces
-- the figures.
CREATE TABLE agent_quality (
    application_id  BLOB NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    week            TEXT NOT NULL,
    csat            REAL,
    qa_score        REAL,
    imported_at     TEXT NOT NULL,
    PRIMARY KEY (application_id, week)
);
