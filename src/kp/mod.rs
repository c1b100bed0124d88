//! Key-population size estimation from respondent-driven samples (SS-PSE).
pub mod sspse;
