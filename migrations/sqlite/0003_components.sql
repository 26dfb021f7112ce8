-- +goose Up
-- Per-component history from the health documents targets serve (see
-- internal/probe/healthdoc). Times are Unix milliseconds. Targets whose
-- checks report no components have no rows here.

-- The latest state of each component a target's health documents reported.
-- No AUTOINCREMENT: ids are only handed out inside the result writer's
-- transaction, and a deleted component's history goes with it.
CREATE TABLE components (
    id        INTEGER PRIMARY KEY,
    target_id INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    name      TEXT    NOT NULL,
    status    INTEGER NOT NULL,
    since     INTEGER NOT NULL, -- when the current status began
    last_seen INTEGER NOT NULL, -- the last check that reported the component
    observed  REAL    NOT NULL DEFAULT 0,
    unit      TEXT    NOT NULL DEFAULT '',
    output    TEXT    NOT NULL DEFAULT '',
    UNIQUE (target_id, name)
);

-- One row per check and component, clustered like results: a component's
-- history is one range scan. A REAL without a fraction is stored as a small
-- integer, and status up (1) as a constant, so a typical row is ~20 bytes.
CREATE TABLE component_results (
    component_id INTEGER NOT NULL REFERENCES components (id) ON DELETE CASCADE,
    ts           INTEGER NOT NULL, -- the result's ts
    status       INTEGER NOT NULL,
    observed     REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (component_id, ts)
) WITHOUT ROWID;

