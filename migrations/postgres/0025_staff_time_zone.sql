-- Each staff member reads times in their own zone (set on /admin/password); none means the
-- instance's ONRAMP_TIME_ZONE.
ALTER TABLE users ADD COLUMN time_zone TEXT;
