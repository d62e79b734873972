-- Registry schema (PostgreSQL). Every resource table keeps its id, the columns
-- that lists filter or sort on, a revision for the etag, create/update times
-- (unix microseconds) and the full record as `body`: the prost-encoded wire
-- message of the domain entity (see src/store/mod.rs).

CREATE TABLE sources (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    body BYTEA NOT NULL
);

CREATE TABLE organizations (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL,
    country_code TEXT NOT NULL,
    search_text TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    body BYTEA NOT NULL
);

CREATE TABLE organization_names (
    organization_id TEXT COLLATE "C" NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name_folded TEXT NOT NULL,
    PRIMARY KEY (organization_id, name_folded)
);
CREATE INDEX organization_names_by_name ON organization_names (name_folded);

CREATE TABLE people (
    id TEXT COLLATE "C" PRIMARY KEY,
    organization_id TEXT COLLATE "C" NOT NULL,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX people_by_organization ON people (organization_id);

CREATE TABLE relationships (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL,
    parent_id TEXT COLLATE "C" NOT NULL,
    child_id TEXT COLLATE "C" NOT NULL,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX relationships_by_parent ON relationships (parent_id);
CREATE INDEX relationships_by_child ON relationships (child_id);

CREATE TABLE partnerships (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    sort_rank BIGINT NOT NULL,
    date_first BIGINT,
    date_last BIGINT,
    predecessor_id TEXT COLLATE "C" NOT NULL,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX partnerships_by_rank ON partnerships (sort_rank, id);

CREATE TABLE partnership_parties (
    partnership_id TEXT COLLATE "C" NOT NULL REFERENCES partnerships (id) ON DELETE CASCADE,
    organization_id TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (partnership_id, organization_id)
);
CREATE INDEX partnership_parties_by_organization ON partnership_parties (organization_id);

CREATE TABLE events (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    sort_rank BIGINT NOT NULL,
    date_first BIGINT,
    date_last BIGINT,
    search_text TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX events_by_rank ON events (sort_rank, id);

CREATE TABLE event_participants (
    event_id TEXT COLLATE "C" NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    participant TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (event_id, participant)
);
CREATE INDEX event_participants_by_participant ON event_participants (participant);

CREATE TABLE targets (
    id TEXT COLLATE "C" PRIMARY KEY,
    organization_id TEXT COLLATE "C" NOT NULL,
    metric_organization_id TEXT COLLATE "C" NOT NULL,
    event_id TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    revision BIGINT NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL,
    body BYTEA NOT NULL
);
CREATE INDEX targets_by_organization ON targets (organization_id);

-- AIP-155: one row per create request id, written in the create's transaction.
CREATE TABLE create_requests (
    request_id TEXT COLLATE "C" PRIMARY KEY,
    method TEXT NOT NULL,
    request_body BYTEA NOT NULL,
    resource_name TEXT NOT NULL,
    response_body BYTEA NOT NULL
);

-- WatchEvents: every event creation and change, in commit order.
CREATE TABLE event_changes (
    seq BIGINT PRIMARY KEY,
    event_id TEXT COLLATE "C" NOT NULL,
    change_type BIGINT NOT NULL,
    body BYTEA NOT NULL
);

-- The single counter row that numbers event changes; updating it inside the
-- write transaction serialises writers, so commit order equals seq order.
CREATE TABLE change_counter (
    id BIGINT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO change_counter (id, value) VALUES (1, 0);
