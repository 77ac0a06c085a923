-- The replacement report's two series. `outsourced_headcount` holds the snapshots managers record
-- of each vendor's agents in a market; the outsourced headcount on a day is, per vendor and
-- market, the latest snapshot on or before it, summed. Recording the same vendor, market and
-- day again replaces the figure.
CREATE TABLE outsourced_headcount (
    market       TEXT NOT NULL,
    vendor       TEXT NOT NULL,
    day          TEXT NOT NULL,
    headcount    INTEGER NOT NULL CHECK (headcount >= 0),
    recorded_by  TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (market, vendor, day)
) WITHOUT ROWID;
CREATE INDEX outsourced_headcount_day ON outsourced_headcount (day);

-- Live pilot agents per market and day, kept as they change: each activation, pause, resume
-- and offboarding updates its day's row in the same transaction (a day without a row carries
-- the previous day's count). The daily snapshot job writes the count it finds, and
-- `onramp report rebuild` recomputes every row from the applications' timelines.
-- `activated` and `offboarded` count that day's steps, for the forecast.
CREATE TABLE live_daily (
    market      TEXT NOT NULL,
    day         TEXT NOT NULL,
    live        INTEGER NOT NULL,
    activated   INTEGER NOT NULL DEFAULT 0,
    offboarded  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (market, day)
) WITHOUT ROWID;
CREATE INDEX live_daily_day ON live_daily (day);
