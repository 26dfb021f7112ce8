-- +goose Up
-- Each delivery's own globally unique id, made when its row is inserted: the
-- webhook-id of its message, the same on every retry. A per-database counter
-- would be reused after a reset, or by another instance, and a receiver that
-- drops duplicates by it would drop real alerts. Rows from before get a
-- random one (UUID version 4).
ALTER TABLE deliveries ADD COLUMN uid TEXT NOT NULL DEFAULT '';
UPDATE deliveries SET uid = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4'
    || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1)
    || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)))
    WHERE uid = '';

-- When a flapping target began flapping (Unix ms, 0 when it is not). A target
-- already flapping starts from its oldest flip still kept.
ALTER TABLE target_state ADD COLUMN flapping_since INTEGER NOT NULL DEFAULT 0;
UPDATE target_state SET flapping_since = CAST(substr(flips, 1, instr(flips || ',', ',') - 1) AS INTEGER)
    WHERE flapping <> 0 AND flips <> '';
