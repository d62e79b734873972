-- Expand only: two new tables, which older releases never read.
-- Engine snapshots for replicas that have no disk history of their own: each snapshot is
-- written in one transaction (header and every chunk, or nothing), chunks of at most a few
-- megabytes since a bytea value tops out at 1 GB. Backups need not include them: a start
-- without one replays the figures.
CREATE TABLE engine_snapshots (
    id BIGSERIAL PRIMARY KEY,
    format INTEGER NOT NULL,
    last_seq BIGINT NOT NULL,
    anchor TEXT,
    figures BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    chunks INTEGER NOT NULL,
    written_at BIGINT NOT NULL
);

CREATE TABLE engine_snapshot_chunks (
    snapshot_id BIGINT NOT NULL REFERENCES engine_snapshots (id) ON DELETE CASCADE,
    chunk INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (snapshot_id, chunk)
);
