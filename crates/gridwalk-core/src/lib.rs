//! GridWalk's domain: the jurisdiction tree, the enterprise register (with sites and
//! 厂中厂 leases), the official dust-type classification, business-licence codes (USCC)
//! and the pinyin keys used by search.
//!
//! Everything here is pure: no files, no database, no network. The device store, the
//! CLI, the app and the server all depend on these types, so they are defined once.

pub mod campaign;
pub mod division;
pub mod dust;
pub mod enterprise;
pub mod ids;
pub mod pinyin_keys;
pub mod sampling;
pub mod search;
pub mod suspected;
pub mod uscc;
pub mod work;

pub use campaign::{
    Applicability, Campaign, CampaignError, Completion, DeadlineLevel, Duty, FactOutcome,
};
pub use division::{DivisionCode, DivisionError, DivisionLevel};
pub use dust::{DustCategory, DustFlag, DustType};
pub use enterprise::{Enterprise, Lease, LeaseRecord, LeaseRecordError, LeaseTenant, Site};
pub use suspected::{SuspectedConfirmation, SuspectedEntry, SuspectedError, SuspectedState};
pub use uscc::{Uscc, UsccError};
pub use work::{Assignment, AssignmentStatus, Review, ReviewState};
