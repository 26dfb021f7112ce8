-- +goose Up
-- The burn-rate alerts firing, one row per target and severity while it
-- fires, so that a restart neither alerts a burn again nor forgets one.
-- since is Unix milliseconds; suppressed says why the alert (and its
-- recovery) are not sent, such as a more severe alert covering it.
CREATE TABLE slo_alerts (
    target_id  bigint NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    severity   text   NOT NULL,
    since      bigint NOT NULL,
    suppressed text   NOT NULL DEFAULT '',
    PRIMARY KEY (target_id, severity)
);
