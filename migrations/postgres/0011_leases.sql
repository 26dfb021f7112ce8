-- +goose Up
-- Several instances sharing this database divide the targets between them:
-- a target belongs to shard id % 256, and each shard is leased to one
-- instance at a time. Times are PostgreSQL's own (now()), never an
-- instance's clock. An instance renews its leases and its heartbeat every
-- few hundred milliseconds; a lease that runs out may be claimed by
-- another, which takes the next epoch: writes made under an older epoch
-- are refused (fencing).
CREATE TABLE instances (
    id           text        PRIMARY KEY,
    -- session is random per process: two live processes given the same
    -- id are told apart, and a restart under the same id is a new holder.
    session      text        NOT NULL,
    address      text        NOT NULL DEFAULT '',
    version      text        NOT NULL DEFAULT '',
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shard_leases (
    shard      integer     PRIMARY KEY,
    owner      text,
    epoch      bigint      NOT NULL DEFAULT 0,
    expires_at timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX shard_leases_owner ON shard_leases (owner);
INSERT INTO shard_leases (shard) SELECT generate_series(0, 255);
