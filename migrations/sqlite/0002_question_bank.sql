-- The quiz question bank. A question (stable slug) has versions; a version is never changed once
-- written, so attempts keep the exact text and key they were scored against. Weights and credits
-- are stored as integer basis points (1.0 = 10000).

CREATE TABLE questions (
    id          BLOB PRIMARY KEY NOT NULL,
    slug        TEXT NOT NULL,
    category    TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    CONSTRAINT questions_slug_key UNIQUE (slug)
);
CREATE INDEX questions_category ON questions (category, slug);

CREATE TABLE question_versions (
    id           BLOB PRIMARY KEY NOT NULL,
    question_id  BLOB NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    weight_bp    INTEGER NOT NULL,
    prompt       TEXT NOT NULL,
    explanation  TEXT NOT NULL,
    choices      TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    CONSTRAINT question_versions_question_id_version_key UNIQUE (question_id, version)
);
