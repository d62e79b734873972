-- Stats schema (SQLite). Month indexes are year * 12 + month - 1; days are yyyymmdd.
CREATE TABLE seq_counter (
    id INTEGER PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO seq_counter (id, value) VALUES (1, 0);

CREATE TABLE sales_figures (
    seq BIGINT NOT NULL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
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
    supersedes TEXT,
    note TEXT,
    create_time BIGINT NOT NULL
);
CREATE INDEX sales_figures_series ON sales_figures
    (organization, basis, flow, market, scope, powertrain, period_start, period_end);

CREATE TABLE sources (
    id TEXT NOT NULL PRIMARY KEY,
    kind TEXT NOT NULL,
    publisher TEXT NOT NULL,
    title TEXT NOT NULL,
    uri TEXT,
    published BIGINT
);

CREATE TABLE import_requests (
    request_id TEXT NOT NULL PRIMARY KEY,
    digest TEXT NOT NULL,
    imported_count BIGINT NOT NULL,
    revision_count BIGINT NOT NULL,
    create_time BIGINT NOT NULL
);
