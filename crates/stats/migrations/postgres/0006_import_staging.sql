-- Expand only: a new table, which older releases never read.
-- The figures of an import too large to hold in memory, while its client is still sending
-- them: read back (sorted by revision chain) to give them ids and link their revisions, then
-- written to sales_figures in one transaction, then deleted. Rows of an import that never
-- finished are deleted when it ends or, a day old, at the next start; they are never figures.
-- Unlogged: a crash may empty it, which only fails the imports still being sent or linked.
CREATE UNLOGGED TABLE import_staging (
    stage_id TEXT NOT NULL,
    ordinal BIGINT NOT NULL,
    organization TEXT NOT NULL,
    basis TEXT NOT NULL,
    flow TEXT NOT NULL,
    market TEXT NOT NULL,
    scope TEXT NOT NULL,
    powertrain TEXT NOT NULL,
    period_start BIGINT NOT NULL,
    period_end BIGINT NOT NULL,
    units BIGINT NOT NULL,
    comparable_prior_units BIGINT,
    source TEXT NOT NULL,
    stage TEXT NOT NULL,
    as_of BIGINT NOT NULL,
    note TEXT,
    nature TEXT NOT NULL,
    destination TEXT NOT NULL,
    staged_at BIGINT NOT NULL,
    PRIMARY KEY (stage_id, ordinal)
);
CREATE INDEX import_staging_staged_at ON import_staging (staged_at);
