-- +goose Up
-- A Slack bot channel's Web API base URL, for a Slack-compatible server;
-- empty is Slack's own.
ALTER TABLE channels ADD COLUMN api_url TEXT NOT NULL DEFAULT '';
