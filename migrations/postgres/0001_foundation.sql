-- Applicants, their screening results and audit trail, single-purpose links, staff, API keys and
-- the email outbox. Times are timestamptz, ids are UUIDv7.

CREATE TABLE applications (
    id                   UUID PRIMARY KEY NOT NULL,
    email                TEXT NOT NULL,
    full_name            TEXT NOT NULL,
    phone                TEXT,
    country              TEXT NOT NULL,
    area                 TEXT NOT NULL,
    languages            TEXT NOT NULL,
    weekly_hours         BIGINT NOT NULL,
    student              BOOLEAN NOT NULL,
    customer             BOOLEAN NOT NULL,
    adult                BOOLEAN NOT NULL,
    equipment            BOOLEAN NOT NULL,
    motivation           TEXT,
    utm_source           TEXT,
    utm_campaign         TEXT,
    ref_code             TEXT,
    status               TEXT NOT NULL,
    consent_at           TIMESTAMPTZ NOT NULL,
    email_verified_at    TIMESTAMPTZ,
    verify_requested_at  TIMESTAMPTZ NOT NULL,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL,
    CONSTRAINT applications_email_key UNIQUE (email)
);
CREATE INDEX applications_status_created ON applications (status, created_at, id);
CREATE INDEX applications_created ON applications (created_at, id);

CREATE TABLE screening_results (
    application_id  UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    rule_id         TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    reason          TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (application_id, rule_id)
);

CREATE TABLE application_events (
    id              UUID PRIMARY KEY NOT NULL,
    application_id  UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    detail          TEXT NOT NULL,
    actor           TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX application_events_application ON application_events (application_id, created_at);

CREATE TABLE access_tokens (
    token_hash      TEXT PRIMARY KEY NOT NULL,
    application_id  UUID NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
    purpose         TEXT NOT NULL,
    expires_at      TIMESTAMPTZ NOT NULL,
    used_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX access_tokens_application ON access_tokens (application_id, purpose);

CREATE TABLE users (
    id             UUID PRIMARY KEY NOT NULL,
    email          TEXT NOT NULL,
    role           TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE api_keys (
    id            UUID PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    key_hash      TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    revoked_at    TIMESTAMPTZ,
    CONSTRAINT api_keys_key_hash_key UNIQUE (key_hash)
);

CREATE TABLE outbox (
    id               UUID PRIMARY KEY NOT NULL,
    idempotency_key  TEXT NOT NULL,
    template         TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    locked_until     TIMESTAMPTZ,
    locked_by        TEXT,
    last_error       TEXT,
    smtp_response    TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    CONSTRAINT outbox_idempotency_key_key UNIQUE (idempotency_key)
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
