-- A lease record's site is checked against the sites the server holds (a phone may not
-- take over another landlord's site, crates/gridwalk-server/src/phone_leases.rs): by site.
CREATE INDEX lease_site ON lease (site_id, landlord_id);
