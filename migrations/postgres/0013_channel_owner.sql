-- +goose Up
-- The sync owner of a channel ("" for one made one at a time), as the
-- owner label is a target's: POST /api/v1/sync makes an owner's channels
-- exactly the list it is given.
ALTER TABLE channels ADD COLUMN owner TEXT NOT NULL DEFAULT '';
