-- +goose Up
-- What the dashboard counts and lists first: the targets by judged status
-- (down ones head the overview), and the paused ones, which are few.
CREATE INDEX target_state_status ON target_state (status);
CREATE INDEX targets_paused ON targets (id) WHERE paused;
