-- +goose Up
-- Alerting: the state machine's incident and flap bookkeeping, incidents,
-- channels, the event log with its outbox of deliveries, silences and
-- maintenance windows. Times are Unix milliseconds, zero meaning "never".

ALTER TABLE target_state ADD COLUMN incident_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_state ADD COLUMN notified          INTEGER NOT NULL DEFAULT 0;
ALTER TABLE target_state ADD COLUMN flapping          INTEGER NOT NULL DEFAULT 0;
-- Recent up/down flips as a comma-separated list of Unix ms, oldest first:
-- a handful of numbers, never queried into.
ALTER TABLE target_state ADD COLUMN flips             TEXT    NOT NULL DEFAULT '';

-- Secrets (url, secret, token) are stored as given, in their own columns:
-- redaction is the API's job, and the sender needs the real values.
CREATE TABLE channels (
    name               TEXT    PRIMARY KEY,
    kind               TEXT    NOT NULL,
    url                TEXT    NOT NULL DEFAULT '',
    secret             TEXT    NOT NULL DEFAULT '',
    token              TEXT    NOT NULL DEFAULT '',
    channel            TEXT    NOT NULL DEFAULT '',
    is_default         INTEGER NOT NULL DEFAULT 0,
    match_labels       TEXT    NOT NULL DEFAULT '{}', -- JSON object
    group_wait_ns      INTEGER NOT NULL DEFAULT 0,
    repeat_interval_ns INTEGER NOT NULL DEFAULT 0,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE incidents (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    started_at  INTEGER NOT NULL,
    detected_at INTEGER NOT NULL,
    resolved_at INTEGER NOT NULL DEFAULT 0,
    failures    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    error_class INTEGER NOT NULL DEFAULT 0,
    cause       TEXT    NOT NULL DEFAULT '',
    suppressed  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX incidents_target ON incidents (target_id, id);
-- At most one open incident per target.
CREATE UNIQUE INDEX incidents_open ON incidents (target_id) WHERE resolved_at = 0;

-- Every alertable event, kept for the delivery log. No foreign keys: the
-- log outlives the target and the incident it speaks of.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    type        TEXT    NOT NULL,
    target_id   INTEGER NOT NULL DEFAULT 0,
    incident_id INTEGER NOT NULL DEFAULT 0,
    at          INTEGER NOT NULL,
    body        TEXT    NOT NULL -- the whole uptime.Event as JSON, for rendering
);

-- The outbox: one row per event and channel. target_id, incident_id and
-- event_type are copied from the event so that claiming (ordering per
-- target and channel, threads per incident) reads this table alone.
CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id    INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    target_id   INTEGER NOT NULL DEFAULT 0,
    incident_id INTEGER NOT NULL DEFAULT 0,
    event_type  TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    thread      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL DEFAULT 0
);
-- Partial indexes: the outbox is what is pending, a sliver of the log.
CREATE INDEX deliveries_due ON deliveries (next_at) WHERE status = 'pending';
CREATE INDEX deliveries_queue ON deliveries (target_id, channel, id) WHERE status = 'pending';
CREATE INDEX deliveries_incident ON deliveries (incident_id, channel);
CREATE INDEX deliveries_channel ON deliveries (channel, id);

CREATE TABLE silences (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    matchers   TEXT    NOT NULL, -- JSON object
    starts_at  INTEGER NOT NULL DEFAULT 0,
    ends_at    INTEGER NOT NULL DEFAULT 0,
    comment    TEXT    NOT NULL DEFAULT '',
    created_by TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

CREATE TABLE maintenance (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL DEFAULT '',
    matchers    TEXT    NOT NULL, -- JSON object
    starts_at   INTEGER NOT NULL DEFAULT 0,
    ends_at     INTEGER NOT NULL DEFAULT 0,
    schedule    TEXT    NOT NULL DEFAULT '',
    duration_ns INTEGER NOT NULL DEFAULT 0,
    comment     TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
