-- An administrator disables a user (`gridwalk-server admin disable-user`): when, or NULL
-- while the user may work. A disabled user cannot sign in, and neither their console
-- sessions nor their devices' tokens are accepted (crates/gridwalk-server/src/sessions.rs).
ALTER TABLE app_user ADD COLUMN disabled_at TEXT;
