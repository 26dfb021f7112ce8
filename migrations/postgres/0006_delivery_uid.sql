-- +goose Up
-- Each delivery's own globally unique id, made when its row is inserted: the
-- webhook-id of its message, the same on every retry. A per-database counter
-- would be reused after a reset, or by another instance, and a receiver that
-- drops duplicates by it would drop real alerts. Rows from before get a
-- random one (UUID version 4).
ALTER TABLE deliveries ADD COLUMN uid text NOT NULL DEFAULT '';
UPDATE deliveries SET uid = gen_random_uuid()::text WHERE uid = '';
