//! The data model: capture histories, single-source counts and list tables, with their
//! validating constructors, summaries and CSV readers and writers.

mod counts;
mod covariate_histories;
pub mod csv_io;
mod dates;
mod histories;
mod list_table;
mod summary;

pub use counts::{CountData, Covariate, CovariateValues, MAX_COUNT, MAX_UNITS, counts_total};
pub use covariate_histories::{
    CovariateHistories, TimeVarying, read_covariate_histories_path, read_covariate_histories_str,
    read_covariate_histories_with,
};
pub use csv_io::{DataSet, Layout, OccasionOrder, OccasionPeriod, ReadOptions, UnitStratum};
pub use histories::{
    CaptureHistories, MAX_OCCASIONS, Strata, canonical_history, canonical_index,
    default_occasion_names, history_string,
};
pub use list_table::{ListTable, MAX_LISTS};
pub use summary::{Descriptive, MArray};
