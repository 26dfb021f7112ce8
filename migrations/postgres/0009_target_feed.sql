-- +goose Up
-- The change feed schedulers follow: every write of a target takes the next
-- version from feed (whose row lock makes versions commit in order) and
-- stamps it on the target, or on its tombstone when deleted. A scheduler
-- asks for what changed since the version it has seen. pruned is the
-- newest version whose tombstone was pruned: a scheduler behind it reloads.
CREATE TABLE feed (
    id      smallint PRIMARY KEY CHECK (id = 1),
    version bigint   NOT NULL,
    pruned  bigint   NOT NULL
);
INSERT INTO feed (id, version, pruned) VALUES (1, 0, 0);

ALTER TABLE targets ADD COLUMN version bigint NOT NULL DEFAULT 0;
CREATE INDEX targets_version ON targets (version);

CREATE TABLE target_tombstones (
    target_id  bigint PRIMARY KEY,
    version    bigint NOT NULL,
    deleted_at bigint NOT NULL
);
CREATE INDEX target_tombstones_version ON target_tombstones (version);
