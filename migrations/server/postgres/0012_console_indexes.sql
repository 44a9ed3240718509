-- The console's lookups (docs/console.md): an enterprise's hazards (register page,
-- map) and an inspection by its id (detail, photos). Keep in step with the other
-- dialect.
CREATE INDEX hazard_enterprise ON hazard (enterprise_uscc);
CREATE INDEX inspection_by_id ON inspection (inspection_id);
