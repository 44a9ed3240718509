-- Hazard events recorded on other devices, pulled from the server: a grid worker's
-- hazard seen by the town's expert who re-inspects it, that re-inspection seen back on
-- the grid worker's phone. Once applied they live in `hazard` / `hazard_event` like this
-- device's own events, but they are not linked into this device's evidence chain (they
-- are another device's evidence, held by the server), so they never enter the outbox.
--
-- An event waits here until what it builds on is on the device: its enterprise, the
-- hazard's creation, the events before it (`reason` says which). Every pull retries.
CREATE TABLE hazard_event_pending (
    id         TEXT PRIMARY KEY,             -- the event's UUID
    hazard_id  TEXT NOT NULL,
    at         TEXT NOT NULL,
    event      TEXT NOT NULL,                -- the HazardEvent as canonical JSON
    reason     TEXT NOT NULL,
    pulled_at  TEXT NOT NULL
) STRICT;
CREATE INDEX hazard_event_pending_order ON hazard_event_pending (at, id);

-- Before this version the device skipped other devices' hazard events and moved its
-- cursor past them. Pull again from the start, so none of them stays missing: register
-- and template changes re-apply as upserts (a template version already used keeps its
-- frozen content; an enterprise keeps what inspections here confirmed on site, see
-- inspection/status.rs keep_local_confirmations), hazard events this device already has
-- are recognised by id.
DELETE FROM device_meta WHERE key = 'sync.pull_cursor';
