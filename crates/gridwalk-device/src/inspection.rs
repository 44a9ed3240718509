//! Inspections and hazards in the device store. (Being built.)
