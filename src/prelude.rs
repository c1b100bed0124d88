//! The common imports: `use darkfigure::prelude::*;`.

pub use crate::data::{CaptureHistories, CountData, CovariateValues, ListTable};
pub use crate::error::{Error, Result};
pub use crate::estimate::{Assumption, Estimate, FitStats, Interval, IntervalMethod, Warning};
pub use crate::model_table::{Criterion, ModelTable};
pub use crate::two_source::{TwoSample, bailey, chapman, lincoln_petersen};
