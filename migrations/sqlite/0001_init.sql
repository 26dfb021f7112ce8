-- +goose Up
-- Times are Unix milliseconds (INTEGER); zero means "never".

-- AUTOINCREMENT so that an id is never reused: results still queued for a
-- deleted target must not land on a new target that took its id.
CREATE TABLE targets (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    kind       TEXT    NOT NULL,
    -- The whole target as JSON, secrets included: redaction is the API's job.
    spec       TEXT    NOT NULL,
    paused     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Labels are copied out of spec so that filters are indexed lookups.
CREATE TABLE target_labels (
    target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    key       TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    PRIMARY KEY (target_id, key)
) WITHOUT ROWID;
CREATE INDEX target_labels_key_value ON target_labels (key, value, target_id);

-- The state machine's latest state per target, written in the same
-- transaction as the results that led to it.
CREATE TABLE target_state (
    target_id             INTEGER PRIMARY KEY REFERENCES targets (id) ON DELETE CASCADE,
    status                INTEGER NOT NULL DEFAULT 0,
    since                 INTEGER NOT NULL DEFAULT 0,
    last_check            INTEGER NOT NULL DEFAULT 0,
    last_result           INTEGER NOT NULL DEFAULT 0,
    last_error            TEXT    NOT NULL DEFAULT '',
    last_error_class      INTEGER NOT NULL DEFAULT 0,
    consecutive_failures  INTEGER NOT NULL DEFAULT 0,
    consecutive_successes INTEGER NOT NULL DEFAULT 0,
    failing_since         INTEGER NOT NULL DEFAULT 0
);

-- One row per check. WITHOUT ROWID clusters the rows by (target_id, ts), so
-- the primary key is the table: no separate rowid b-tree and no second index,
-- and a target's history is one contiguous range scan.
CREATE TABLE results (
    target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    ts        INTEGER NOT NULL, -- start of the check, Unix ms
    dur_us    INTEGER NOT NULL,
    status    INTEGER NOT NULL,
    code      INTEGER NOT NULL DEFAULT 0,
    err_class INTEGER NOT NULL DEFAULT 0,
    err       TEXT,
    PRIMARY KEY (target_id, ts)
) WITHOUT ROWID;

-- Written and read back by the readiness probe to prove the store takes writes.
CREATE TABLE heartbeat (
    id INTEGER PRIMARY KEY,
    at INTEGER NOT NULL
);
