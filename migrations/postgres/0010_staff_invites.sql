-- Invitations to staff accounts: a single-use link, minted when the invitation email goes out,
-- with which the person sets their own password.
CREATE TABLE staff_invites (
    token_hash  TEXT PRIMARY KEY NOT NULL,
    user_id     UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  TIMESTAMPTZ NOT NULL,
    used_at     TIMESTAMPTZ,
    created_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX staff_invites_user ON staff_invites (user_id);
ALTER TABLE users ADD COLUMN invited_at TIMESTAMPTZ;
