-- One console per user (officer actions take positions in its sequence); one stored
-- sample per town, seed and register version (the same draw is the same sample); and a
-- change meant for some users only: an assignment reaches its assignee's phones (and
-- those of whoever held it before, so they learn it moved), not every phone of the
-- village (docs/campaign.md "Assignments").
CREATE UNIQUE INDEX device_one_console ON device (user_id) WHERE kind = 'console';
CREATE UNIQUE INDEX supervision_sample_once ON supervision_sample (division_code, seed, register_version);
ALTER TABLE change_log ADD COLUMN recipient TEXT;
