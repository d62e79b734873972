-- Expand: an event may concern a market (a tariff's importing market); existing events
-- concern none (''). Older binaries write '' by the default and never read the column.
ALTER TABLE events ADD COLUMN market TEXT NOT NULL DEFAULT '';
CREATE INDEX events_by_market ON events (market, sort_rank, id);
