-- Quiz definitions, attempts with their fixed draw, per-question scores, pre-aggregated item
-- statistics (so item analysis reads one row per question version, not every attempt), staff
-- sessions, and scheduled job ticks.

CREATE TABLE quizzes (
    id          BLOB PRIMARY KEY NOT NULL,
    slug        TEXT NOT NULL,
    title       TEXT NOT NULL,
    -- The definition (draws per category, time limit, pass marks, attempts, cooldown, markets,
    -- languages) as JSON written by domain::quiz::QuizDef.
    definition  TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    CONSTRAINT quizzes_slug_key UNIQUE (slug)
);

CREATE TABLE quiz_attempts (
    id               BLOB PRIMARY KEY NOT NULL,
    application_id   BLOB NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    quiz_id          BLOB NOT NULL REFERENCES quizzes (id),
    number           INTEGER NOT NULL,
    -- The quiz definition as it was when the attempt started: its rules are the ones shown.
    definition       TEXT NOT NULL,
    -- open | scored
    status           TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    deadline         TEXT NOT NULL,
    -- The deadline plus grace: answers saved later are not counted.
    closes_at        TEXT NOT NULL,
    finished_at      TEXT,
    -- submitted | timed_out
    finished_by      TEXT,
    score_bp         INTEGER,
    passed           BOOLEAN,
    -- JSON: [{category, score_bp, pass_bp}]
    category_scores  TEXT,
    CONSTRAINT quiz_attempts_application_id_number_key UNIQUE (application_id, number)
);
-- One attempt at a time per applicant.
CREATE UNIQUE INDEX quiz_attempts_one_open ON quiz_attempts (application_id) WHERE status = 'open';
CREATE INDEX quiz_attempts_open_closes ON quiz_attempts (status, closes_at);

CREATE TABLE attempt_items (
    attempt_id           BLOB NOT NULL REFERENCES quiz_attempts (id) ON DELETE CASCADE,
    position             INTEGER NOT NULL,
    question_version_id  BLOB NOT NULL REFERENCES question_versions (id),
    category             TEXT NOT NULL,
    weight_bp            INTEGER NOT NULL,
    -- JSON array of choice keys in the order this applicant sees them.
    choice_order         TEXT NOT NULL,
    -- JSON domain::quiz::Answer, NULL until answered.
    answer               TEXT,
    answered_at          TEXT,
    seconds              INTEGER,
    score_bp             INTEGER,
    PRIMARY KEY (attempt_id, position)
);

CREATE TABLE item_stats (
    quiz_id              BLOB NOT NULL REFERENCES quizzes (id) ON DELETE CASCADE,
    question_version_id  BLOB NOT NULL REFERENCES question_versions (id),
    n                    INTEGER NOT NULL,
    full_credit          INTEGER NOT NULL,
    sum_x                INTEGER NOT NULL,
    sum_xx               INTEGER NOT NULL,
    sum_y                INTEGER NOT NULL,
    sum_yy               INTEGER NOT NULL,
    sum_xy               INTEGER NOT NULL,
    timed                INTEGER NOT NULL,
    sum_seconds          INTEGER NOT NULL,
    PRIMARY KEY (quiz_id, question_version_id)
);

CREATE TABLE item_choice_stats (
    quiz_id              BLOB NOT NULL REFERENCES quizzes (id) ON DELETE CASCADE,
    question_version_id  BLOB NOT NULL REFERENCES question_versions (id),
    choice_key           TEXT NOT NULL,
    picks                INTEGER NOT NULL,
    PRIMARY KEY (quiz_id, question_version_id, choice_key)
);

CREATE TABLE staff_sessions (
    token_hash    TEXT PRIMARY KEY NOT NULL,
    user_id       BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX staff_sessions_expires ON staff_sessions (expires_at);

CREATE TABLE job_runs (
    job          TEXT NOT NULL,
    fire_at      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    finished_at  TEXT,
    outcome      TEXT,
    items        INTEGER,
    PRIMARY KEY (job, fire_at)
);
