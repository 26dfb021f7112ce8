-- +goose Up
-- History that answers questions: time-weighted uptime, check counts and
-- latency per series (a target, or one component of a target) and bucket
-- (minute, hour, day), so that any window is answered from a few rows.
-- Times are Unix milliseconds; durations milliseconds, latencies
-- microseconds. res: 0 minute, 1 hour, 2 day. hist is the mergeable latency
-- histogram (uptime.Histogram's binary encoding).
CREATE TABLE rollups (
    target_id   bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    res         smallint NOT NULL,
    bucket      bigint  NOT NULL,
    up_n        bigint NOT NULL DEFAULT 0,
    degraded_n  bigint NOT NULL DEFAULT 0,
    down_n      bigint NOT NULL DEFAULT 0,
    unknown_n   bigint NOT NULL DEFAULT 0,
    up_ms       bigint NOT NULL DEFAULT 0,
    degraded_ms bigint NOT NULL DEFAULT 0,
    down_ms     bigint NOT NULL DEFAULT 0,
    unknown_ms  bigint NOT NULL DEFAULT 0,
    maint_ms    bigint NOT NULL DEFAULT 0,
    paused_ms   bigint NOT NULL DEFAULT 0,
    lat_min_us  bigint NOT NULL DEFAULT 0,
    lat_max_us  bigint NOT NULL DEFAULT 0,
    lat_sum_us  bigint NOT NULL DEFAULT 0,
    hist        bytea   NOT NULL DEFAULT ''::bytea,
    PRIMARY KEY (target_id, res, bucket)
);

CREATE TABLE component_rollups (
    component_id bigint NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    res          smallint NOT NULL,
    bucket       bigint  NOT NULL,
    up_n         bigint NOT NULL DEFAULT 0,
    degraded_n   bigint NOT NULL DEFAULT 0,
    down_n       bigint NOT NULL DEFAULT 0,
    unknown_n    bigint NOT NULL DEFAULT 0,
    up_ms        bigint NOT NULL DEFAULT 0,
    degraded_ms  bigint NOT NULL DEFAULT 0,
    down_ms      bigint NOT NULL DEFAULT 0,
    unknown_ms   bigint NOT NULL DEFAULT 0,
    maint_ms     bigint NOT NULL DEFAULT 0,
    paused_ms    bigint NOT NULL DEFAULT 0,
    lat_min_us   bigint NOT NULL DEFAULT 0,
    lat_max_us   bigint NOT NULL DEFAULT 0,
    lat_sum_us   bigint NOT NULL DEFAULT 0,
    hist         bytea   NOT NULL DEFAULT ''::bytea,
    PRIMARY KEY (component_id, res, bucket)
);

-- The rollup job's progress: every check before watermark is rolled up
-- into minute rollups, and every whole hour and day before it into theirs.
CREATE TABLE rollup_state (
    name  text    PRIMARY KEY,
    value bigint  NOT NULL
);

-- Spans when a target was paused (ended 0: still paused), left out of its
-- uptime as paused time.
CREATE TABLE target_pauses (
    target_id bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    started   bigint  NOT NULL,
    ended     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (target_id, started)
);

-- Fleet-wide windows (which targets got slower this week) read every
-- target's day rollups at once.
CREATE INDEX rollups_days ON rollups (bucket) WHERE res = 2;

-- Every target's rollups added up, per bucket: the whole fleet's uptime in
-- a few rows (the summary), whatever the number of targets.
CREATE TABLE fleet_rollups (
    res         smallint NOT NULL,
    bucket      bigint   NOT NULL,
    up_n        bigint   NOT NULL DEFAULT 0,
    degraded_n  bigint   NOT NULL DEFAULT 0,
    down_n      bigint   NOT NULL DEFAULT 0,
    unknown_n   bigint   NOT NULL DEFAULT 0,
    up_ms       bigint   NOT NULL DEFAULT 0,
    degraded_ms bigint   NOT NULL DEFAULT 0,
    down_ms     bigint   NOT NULL DEFAULT 0,
    unknown_ms  bigint   NOT NULL DEFAULT 0,
    maint_ms    bigint   NOT NULL DEFAULT 0,
    paused_ms   bigint   NOT NULL DEFAULT 0,
    lat_min_us  bigint   NOT NULL DEFAULT 0,
    lat_max_us  bigint   NOT NULL DEFAULT 0,
    lat_sum_us  bigint   NOT NULL DEFAULT 0,
    hist        bytea    NOT NULL DEFAULT ''::bytea,
    PRIMARY KEY (res, bucket)
);
