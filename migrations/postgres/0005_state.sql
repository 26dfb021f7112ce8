-- +goose Up
-- More of the state machine's state, so that a restart resumes it whole:
-- the certificate expiry last seen (Unix ms, 0 for none), the smallest
-- tls_expiry_warn threshold already alerted for it, and what the open
-- incident is attributed to, for the dependents that open after a restart.
ALTER TABLE target_state
    ADD COLUMN cert_expiry bigint  NOT NULL DEFAULT 0,
    ADD COLUMN cert_warned integer NOT NULL DEFAULT 0,
    ADD COLUMN cause       text    NOT NULL DEFAULT '';
