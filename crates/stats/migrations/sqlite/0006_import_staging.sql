-- Expand only: a new table, which older releases never read.
-- An import's figures while its client is still sending them, before they are given ids,
-- linked to the revisions they follow and written to sales_figures in one transaction
-- (then deleted in that transaction). Rows of an import that never finished are deleted
-- by the next start; they are never figures.
CREATE TABLE import_staging (
    stage_id TEXT NOT NULL,
    ordinal BIGINT NOT NULL,
    chain TEXT NOT NULL,
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
CREATE INDEX import_staging_chain ON import_staging (stage_id, chain, ordinal);
CREATE INDEX import_staging_staged_at ON import_staging (staged_at);
