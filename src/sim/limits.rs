//! Size limits shared by the scenario kinds (kept apart so every scenario module can
//! read them without depending on `scenario`).

/// The largest number of occasions (lists) a scenario may have.
pub const MAX_SIM_OCCASIONS: usize = 20;

/// The largest population size of one stratum.
pub const MAX_SIM_N: u64 = 1_000_000_000;
