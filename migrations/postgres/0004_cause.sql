-- +goose Up
-- Root-cause grouping looks incidents up by what they are attributed to:
-- whether a resolving target is the cause of others, which resolutions share
-- a cause. Most incidents have none, so only those with one are indexed.
CREATE INDEX incidents_cause ON incidents (cause, resolved_at) WHERE cause <> '';
