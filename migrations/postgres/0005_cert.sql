-- +goose Up
-- Certificate expiry warnings: the expiry last seen (Unix ms, 0 for none) and
-- the smallest tls_expiry_warn threshold already alerted for it, so that a
-- restart neither repeats a warning nor forgets one is due.
ALTER TABLE target_state
    ADD COLUMN cert_expiry bigint  NOT NULL DEFAULT 0,
    ADD COLUMN cert_warned integer NOT NULL DEFAULT 0;
