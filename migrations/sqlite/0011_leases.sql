-- +goose Up
-- On PostgreSQL this migration adds the tables through which several
-- instances share the targets (instances, shard_leases). A SQLite file is
-- served by one instance, which checks every target: nothing to add.
SELECT 1;
