-- +goose Up
-- The burn-rate alerts firing, one row per target and severity while it
-- fires, so that a restart neither alerts a burn again nor forgets one.
-- since is Unix milliseconds; suppressed says why the alert (and its
-- recovery) are not sent, such as a more severe alert covering it.
CREATE TABLE slo_alerts (
    target_id  INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    severity   TEXT    NOT NULL,
    since      INTEGER NOT NULL,
    suppressed TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (target_id, severity)
) WITHOUT ROWID;
