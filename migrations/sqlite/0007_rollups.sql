-- +goose Up
-- History that answers questions: time-weighted uptime, check counts and
-- latency per series (a target, or one component of a target) and bucket
-- (minute, hour, day), so that any window is answered from a few rows.
-- Times are Unix milliseconds; durations milliseconds, latencies
-- microseconds. res: 0 minute, 1 hour, 2 day. hist is the mergeable latency
-- histogram (uptime.Histogram's binary encoding).
CREATE TABLE rollups (
    target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    res         INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    up_n        INTEGER NOT NULL DEFAULT 0,
    degraded_n  INTEGER NOT NULL DEFAULT 0,
    down_n      INTEGER NOT NULL DEFAULT 0,
    unknown_n   INTEGER NOT NULL DEFAULT 0,
    up_ms       INTEGER NOT NULL DEFAULT 0,
    degraded_ms INTEGER NOT NULL DEFAULT 0,
    down_ms     INTEGER NOT NULL DEFAULT 0,
    unknown_ms  INTEGER NOT NULL DEFAULT 0,
    maint_ms    INTEGER NOT NULL DEFAULT 0,
    paused_ms   INTEGER NOT NULL DEFAULT 0,
    lat_min_us  INTEGER NOT NULL DEFAULT 0,
    lat_max_us  INTEGER NOT NULL DEFAULT 0,
    lat_sum_us  INTEGER NOT NULL DEFAULT 0,
    hist        BLOB    NOT NULL DEFAULT x'',
    PRIMARY KEY (target_id, res, bucket)
) WITHOUT ROWID;

CREATE TABLE component_rollups (
    component_id INTEGER NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    res          INTEGER NOT NULL,
    bucket       INTEGER NOT NULL,
    up_n         INTEGER NOT NULL DEFAULT 0,
    degraded_n   INTEGER NOT NULL DEFAULT 0,
    down_n       INTEGER NOT NULL DEFAULT 0,
    unknown_n    INTEGER NOT NULL DEFAULT 0,
    up_ms        INTEGER NOT NULL DEFAULT 0,
    degraded_ms  INTEGER NOT NULL DEFAULT 0,
    down_ms      INTEGER NOT NULL DEFAULT 0,
    unknown_ms   INTEGER NOT NULL DEFAULT 0,
    maint_ms     INTEGER NOT NULL DEFAULT 0,
    paused_ms    INTEGER NOT NULL DEFAULT 0,
    lat_min_us   INTEGER NOT NULL DEFAULT 0,
    lat_max_us   INTEGER NOT NULL DEFAULT 0,
    lat_sum_us   INTEGER NOT NULL DEFAULT 0,
    hist         BLOB    NOT NULL DEFAULT x'',
    PRIMARY KEY (component_id, res, bucket)
) WITHOUT ROWID;

-- The rollup job's progress: every check before watermark is rolled up
-- into minute rollups, and every whole hour and day before it into theirs.
CREATE TABLE rollup_state (
    name  TEXT    PRIMARY KEY,
    value INTEGER NOT NULL
);

-- Spans when a target was paused (ended 0: still paused), left out of its
-- uptime as paused time.
CREATE TABLE target_pauses (
    target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    started   INTEGER NOT NULL,
    ended     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, started)
) WITHOUT ROWID;

-- Fleet-wide windows (which targets got slower this week) read every
-- target's day rollups at once.
CREATE INDEX rollups_days ON rollups (bucket) WHERE res = 2;

-- Every target's rollups added up, per bucket: the whole fleet's uptime in
-- a few rows (the summary), whatever the number of targets.
CREATE TABLE fleet_rollups (
    res         INTEGER NOT NULL,
    bucket      INTEGER NOT NULL,
    up_n        INTEGER NOT NULL DEFAULT 0,
    degraded_n  INTEGER NOT NULL DEFAULT 0,
    down_n      INTEGER NOT NULL DEFAULT 0,
    unknown_n   INTEGER NOT NULL DEFAULT 0,
    up_ms       INTEGER NOT NULL DEFAULT 0,
    degraded_ms INTEGER NOT NULL DEFAULT 0,
    down_ms     INTEGER NOT NULL DEFAULT 0,
    unknown_ms  INTEGER NOT NULL DEFAULT 0,
    maint_ms    INTEGER NOT NULL DEFAULT 0,
    paused_ms   INTEGER NOT NULL DEFAULT 0,
    lat_min_us  INTEGER NOT NULL DEFAULT 0,
    lat_max_us  INTEGER NOT NULL DEFAULT 0,
    lat_sum_us  INTEGER NOT NULL DEFAULT 0,
    hist        BLOB    NOT NULL DEFAULT x'',
    PRIMARY KEY (res, bucket)
) WITHOUT ROWID;
