-- Webhooks: endpoints an admin registers (a URL, the secret deliveries are signed with, and the
-- events it wants), and their deliveries, queued in the transaction of the change they report
-- and sent by a worker with retries and backoff, the way the outbox sends email. Every attempt
-- is kept for the admin page; 10 failed attempts within 24 hours disable the endpoint, with the
-- reason stored.
CREATE TABLE webhooks (
    id               BLOB PRIMARY KEY NOT NULL,
    url              TEXT NOT NULL,
    secret           TEXT NOT NULL,
    events           TEXT NOT NULL,
    created_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    disabled_at      TEXT,
    disabled_reason  TEXT
);

CREATE TABLE webhook_deliveries (
    id               BLOB PRIMARY KEY NOT NULL,
    webhook_id       BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event            TEXT NOT NULL,
    body             TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    locked_until     TEXT,
    locked_by        TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL,
    delivered_at     TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, created_at);

CREATE TABLE webhook_attempts (
    delivery_id  BLOB NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    webhook_id   BLOB NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    ok           BOOLEAN NOT NULL,
    http_status  INTEGER,
    error        TEXT
);
CREATE INDEX webhook_attempts_webhook ON webhook_attempts (webhook_id, at);
