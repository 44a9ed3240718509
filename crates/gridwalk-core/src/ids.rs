//! Identifiers shared by device and server.
//!
//! An enterprise's id is derived from its USCC (UUID v5), so a device that imported a
//! register from a spreadsheet and the server that imported the same register agree on
//! every id without talking to each other. Records created on a device (inspections,
//! photos, events) get time-ordered random ids (UUID v7).

use crate::uscc::Uscc;
use uuid::Uuid;

/// Namespace for enterprise ids (a fixed random UUID; never change it).
pub const ENTERPRISE_NAMESPACE: Uuid = Uuid::from_u128(0x5f0b_5a0e_6e2c_4c8e_9a57_1d3a_8f42_c0de);
/// Namespace for site ids derived from the landlord's USCC.
pub const SITE_NAMESPACE: Uuid = Uuid::from_u128(0x7c1d_0b9e_3f44_4a61_8d2e_55b0_19aa_5173);

/// The stable id of the enterprise with this USCC.
pub fn enterprise_id(uscc: &Uscc) -> Uuid {
    Uuid::new_v5(&ENTERPRISE_NAMESPACE, uscc.as_str().as_bytes())
}

/// The stable id of the main site of a landlord enterprise (the plant it lets out).
pub fn landlord_site_id(landlord: &Uscc) -> Uuid {
    Uuid::new_v5(&SITE_NAMESPACE, landlord.as_str().as_bytes())
}

/// A new time-ordered id for a record created on this device.
pub fn new_record_id() -> Uuid {
    Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_uscc_always_gives_the_same_enterprise_id() {
        let a = Uscc::parse("91110000600037341L").expect("valid");
        let b = Uscc::parse("91 110000 600037341l").expect("valid");
        assert_eq!(enterprise_id(&a), enterprise_id(&b));
        let c = Uscc::parse("91320214745555318W").expect("valid");
        assert_ne!(enterprise_id(&a), enterprise_id(&c));
        assert_ne!(enterprise_id(&a), landlord_site_id(&a));
    }

    #[test]
    fn record_ids_are_version_7_and_increase() {
        let a = new_record_id();
        let b = new_record_id();
        assert_eq!(a.get_version_num(), 7);
        assert!(b > a);
    }
}
