-- Sign-in lockout, disabled accounts and forced password changes; API keys get roles.
ALTER TABLE users ADD COLUMN failed_sign_ins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until TEXT;
ALTER TABLE users ADD COLUMN disabled_at TEXT;
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;

-- New keys default to the narrowest role; the keys that exist keep doing what they do today.
ALTER TABLE api_keys ADD COLUMN role TEXT NOT NULL DEFAULT 'intake';
ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;
UPDATE api_keys SET role = 'admin';
