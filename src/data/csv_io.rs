//! CSV readers and writers for the crate's data types.
//!
//! Four layouts are read (and written):
//!
//! | layout | columns | one row per |
//! |---|---|---|
//! | [`Layout::Wide`] | one 0/1 column per occasion or list, optional `freq` (or `frequency`, `n`, `count`), optional `id`, `stratum` | unit, or history with its frequency |
//! | [`Layout::Long`] | `id`, `occasion`, optional `stratum` | time a unit was recorded (a police register export) |
//! | [`Layout::Aggregated`] | `history` (strings such as `0110`), optional `freq`, optional `stratum` | distinct history |
//! | [`Layout::Counts`] | `count` (or `nbcap`, or a column you name), optional `freq`, covariates | unit, or count with its frequency |
//!
//! Column names are matched without regard to case. Every error names the file, the line
//! (the header is line 1), the column and the value. Lines starting with `#` are comments;
//! a comment before the header whose words include `lists` (e.g. `# sources: lists`)
//! declares the columns unordered sources (agency lists) rather than occasions ordered in
//! time (see [`CaptureHistories::with_lists`]); `estimate --lists` declares the same.

use super::counts::{CountData, CovariateValues};
pub use super::dates::OccasionPeriod;
use super::dates::{DateLabels, When, read_dates};
use super::histories::{CaptureHistories, MAX_OCCASIONS, history_string, parse_history};
use crate::error::{Error, Location, Result};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// The layout of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// One 0/1 column per occasion (or list).
    Wide,
    /// One row per record: `id,occasion[,stratum]`.
    Long,
    /// One row per history string: `history,freq[,stratum]`.
    Aggregated,
    /// Single-source counts: `count` plus covariates.
    Counts,
}

impl Layout {
    /// Lower-case name, as printed in reports.
    pub fn name(self) -> &'static str {
        match self {
            Layout::Wide => "wide",
            Layout::Long => "long",
            Layout::Aggregated => "aggregated",
            Layout::Counts => "counts",
        }
    }
}

impl std::str::FromStr for Layout {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "wide" => Ok(Layout::Wide),
            "long" => Ok(Layout::Long),
            "aggregated" | "history" => Ok(Layout::Aggregated),
            "counts" | "count" => Ok(Layout::Counts),
            _ => Err(Error::param(
                "layout",
                s,
                "one of wide, long, aggregated, counts",
            )),
        }
    }
}

/// How to read a file; the defaults detect everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Force a layout instead of detecting it.
    pub layout: Option<Layout>,
    /// Name of the count column (counts layout); detected as `count` or `nbcap` otherwise.
    pub count_column: Option<String>,
    /// Name of the frequency column; detected as `freq`, `frequency`, `n` or `count`.
    pub freq_column: Option<String>,
    /// Covariates to keep (counts layout; all other columns when `None`). In a long file,
    /// columns read as covariates elsewhere, which are then not named as unused.
    pub covariates: Option<Vec<String>>,
    /// Order of the occasion labels (long layout), overriding the default: numeric order
    /// when every label is a number, calendar order when every label is a date, otherwise
    /// order of first appearance in the file.
    pub occasion_order: Option<Vec<String>>,
    /// Column identifying the units (the role of `id`). Without it, `id`, or else the one
    /// column whose name reads as an identifier (`person_id`, `case id`, `individual`...).
    pub id_column: Option<String>,
    /// Column naming the occasion of each record in the long layout (the role of
    /// `occasion`). Without it, `occasion`, or else, beside an identifier, the one column
    /// whose name reads as an occasion (`operation`, `date`, `period`, `wave`...).
    pub occasion_column: Option<String>,
    /// Column naming the stratum of each unit (the role of `stratum`).
    pub stratum_column: Option<String>,
    /// Long layout, occasions that are dates: group them into calendar periods (a week, a
    /// month...), each one occasion. Without it every distinct date is an occasion.
    pub occasion_period: Option<OccasionPeriod>,
    /// Which stratum a unit recorded in more than one takes (a buyer arrested in one
    /// operation and supported as a seller in a later one). By default such a file is
    /// refused.
    pub unit_stratum: UnitStratum,
    /// A yes/no column marking a subgroup that the caller analyses apart (with
    /// [`read_str_where`]): not named among the columns a long file leaves unused.
    pub subgroup_column: Option<String>,
}

/// Which stratum a unit recorded in more than one stratum is counted in. Strata partition
/// the units (each estimate by stratum counts a unit once, and the total adds them), so a
/// unit takes one, unless the strata are roles whose populations are each the target
/// ([`UnitStratum::Each`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnitStratum {
    /// Refuse the file at the first record whose stratum differs from the unit's earlier
    /// ones.
    #[default]
    Refuse,
    /// The stratum recorded on the unit's first occasion (classified at first encounter),
    /// with all its captures.
    First,
    /// The stratum recorded on the unit's last occasion.
    Last,
    /// Every stratum the unit was recorded in, each with the captures recorded in it: the
    /// strata are roles (buying and selling sex), each role's population is a target of
    /// its own, and a person in two roles belongs to both. The total over strata then
    /// counts roles, not people, and its headline says so.
    Each,
}

impl std::str::FromStr for UnitStratum {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "refuse" => Ok(UnitStratum::Refuse),
            "first" => Ok(UnitStratum::First),
            "last" => Ok(UnitStratum::Last),
            "each" => Ok(UnitStratum::Each),
            _ => Err(Error::param(
                "unit_stratum",
                s,
                "one of first, last, each, refuse",
            )),
        }
    }
}

/// How the occasions of a long-layout file were put in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccasionOrder {
    /// Every label is a number: numeric order (`2` before `10`). Whole numbers from the
    /// smallest to the largest (`1..5`, `0..9`, `2019..2021`) are all occasions, including
    /// any between them on which nobody was recorded.
    Numeric,
    /// Every label is a calendar date, with or without a time of day (`2024-03-01`,
    /// `15/01/2024`, `2024-03-01T14:30`): calendar order. Labels naming the same time are
    /// one occasion.
    Chronological,
    /// Labels that are not all numbers or dates: the order in which they first appear in
    /// the file.
    FirstAppearance,
    /// Labels that are dates with the year last (`03/04/2024`), day and month both 12 or
    /// less, that the day-first and month-first readings put in different orders: the
    /// order in which they first appear in the file.
    AmbiguousDates,
    /// The order given by the caller ([`ReadOptions::occasion_order`]).
    Given,
}

impl OccasionOrder {
    /// The order in words, as printed in reports.
    pub fn describe(self) -> &'static str {
        match self {
            OccasionOrder::Numeric => "occasions in numeric order of their labels",
            OccasionOrder::Chronological => "occasions in calendar order of their dates",
            OccasionOrder::FirstAppearance => {
                "occasions in order of first appearance (labels are not numbers or dates; set --occasion-order to change)"
            }
            OccasionOrder::AmbiguousDates => {
                "occasions in order of first appearance (the labels are dates whose day and month cannot be told apart; set --occasion-order to change)"
            }
            OccasionOrder::Given => "occasions in the order given",
        }
    }
}

/// What a CSV file held.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSet {
    /// Capture histories, with the layout they were read from.
    Histories {
        /// The data.
        data: CaptureHistories,
        /// The layout detected or forced.
        layout: Layout,
        /// How the occasions were ordered (long layout only; `None` otherwise, where the
        /// order is that of the columns or of the history strings).
        occasion_order: Option<OccasionOrder>,
        /// What the reader decided that a reader of the results should know: columns
        /// read in a role under another name (`person_id` as the identifier), columns
        /// of a long file it did not use.
        notes: Vec<String>,
        /// Data rows in the file (`None` for data not read from a file): a long file has
        /// one per record, and a wide file may hold several rows of one identifier.
        file_rows: Option<usize>,
    },
    /// Single-source counts.
    Counts {
        /// The data.
        data: CountData,
        /// Name of the count column.
        count_column: String,
    },
}

impl DataSet {
    /// The layout of the file read.
    pub fn layout(&self) -> Layout {
        match self {
            DataSet::Histories { layout, .. } => *layout,
            DataSet::Counts { .. } => Layout::Counts,
        }
    }

    /// The layout's name, followed by how the occasions were ordered when the file did
    /// not fix it (long layout): `long (occasions in numeric order of their labels)`.
    pub fn layout_label(&self) -> String {
        match self {
            DataSet::Histories {
                layout,
                occasion_order: Some(o),
                ..
            } => format!("{} ({})", layout.name(), o.describe()),
            _ => self.layout().name().to_string(),
        }
    }
}

struct Raw {
    file: String,
    headers: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
    /// Columns standing for a role under another name (`("id", 0)` for `person_id`).
    alias: Vec<(&'static str, usize)>,
}

impl Raw {
    fn at(&self, line: Option<usize>, col: Option<usize>) -> Location {
        Location {
            file: self.file.clone(),
            line,
            column: col.map(|c| self.headers[c].clone()),
        }
    }

    /// The column of a name, or of a role (`id`, `occasion`, `stratum`) given to another
    /// column by [`Raw::resolve_roles`].
    fn col(&self, name: &str) -> Option<usize> {
        if let Some(&(_, c)) = self.alias.iter().find(|(role, _)| *role == name) {
            return Some(c);
        }
        self.headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
    }

    /// Gives the roles `id`, `occasion` and `stratum` to the columns named in `opts`, or
    /// else, where the file has no column of that name, to the one column whose name
    /// reads as it (an occasion only beside an identifier). Returns what was read under
    /// another name, in words, when it was guessed from the names.
    fn resolve_roles(&mut self, opts: &ReadOptions) -> Result<Option<String>> {
        let given = [
            ("id", &opts.id_column, "id_column"),
            ("occasion", &opts.occasion_column, "occasion_column"),
            ("stratum", &opts.stratum_column, "stratum_column"),
        ];
        for (role, name, option) in given {
            let Some(name) = name else { continue };
            let Some(c) = self
                .headers
                .iter()
                .position(|h| h.eq_ignore_ascii_case(name))
            else {
                return Err(Error::CsvFormat {
                    at: self.at(Some(1), None),
                    reason: format!(
                        "no column named `{name}` for the {role} ({option}; the columns are {})",
                        self.headers.join(", ")
                    ),
                });
            };
            if let Some(&(other, _)) = self.alias.iter().find(|(_, a)| *a == c) {
                return Err(Error::param(
                    option,
                    name,
                    format!("a column not already given as the {other}"),
                ));
            }
            self.alias.push((role, c));
        }
        if self.col("history").is_some()
            || opts.layout == Some(Layout::Counts)
            || opts.count_column.is_some()
        {
            return Ok(None);
        }
        let unique = |f: &dyn Fn(&str) -> bool| -> Option<usize> {
            let hits: Vec<usize> = (0..self.headers.len())
                .filter(|&c| f(&self.headers[c]))
                .collect();
            match hits[..] {
                [c] => Some(c),
                _ => None,
            }
        };
        let mut guessed = Vec::new();
        let id = match self.col("id") {
            Some(c) => c,
            None => match unique(&names_an_identifier) {
                Some(c) => {
                    self.alias.push(("id", c));
                    guessed.push(format!("`{}` as the unit identifier", self.headers[c]));
                    c
                }
                None => return Ok(None),
            },
        };
        // An occasion is guessed only beside an identifier that repeats (a unit recorded
        // more than once): one row per unit is a wide or counts table, whose `year` or
        // `wave` is a covariate.
        let repeats = || {
            let mut seen = std::collections::HashSet::new();
            self.rows
                .iter()
                .any(|(_, r)| r.get(id).is_some_and(|v| !seen.insert(v.as_str())))
        };
        if self.col("occasion").is_none()
            && let Some(c) = unique(&names_an_occasion).filter(|&c| c != id)
            && repeats()
        {
            self.alias.push(("occasion", c));
            guessed.push(format!(
                "`{}` as the occasion of each record",
                self.headers[c]
            ));
        }
        Ok((!guessed.is_empty()).then(|| {
            format!(
                "read {} (name the columns with --id and --occasion to change this)",
                guessed.join(" and ")
            )
        }))
    }

    fn value_err(&self, line: usize, col: usize, value: &str, expected: &str) -> Error {
        Error::CsvValue {
            at: self.at(Some(line), Some(col)),
            value: value.to_string(),
            expected: expected.to_string(),
        }
    }

    fn parse_u64(&self, line: usize, col: usize, v: &str, what: &str) -> Result<u64> {
        v.parse::<u64>()
            .map_err(|_| self.value_err(line, col, v, what))
    }
}

/// Finds a quoted field that is never closed, or that runs over a line end (a missing
/// closing quote that would swallow the rows after it), following the csv crate's rules:
/// a `"` opens a quoted field only as the field's first character, `""` inside is an
/// escaped quote.
fn check_quotes(text: &str, file: &str, delimiter: u8) -> Result<()> {
    let b = text.as_bytes();
    let (mut i, mut line) = (0usize, 1usize);
    let mut field_start = true;
    while i < b.len() {
        match b[i] {
            b'"' if field_start => {
                let open_line = line;
                i += 1;
                loop {
                    if i >= b.len() {
                        return Err(Error::CsvFormat {
                            at: Location {
                                file: file.to_string(),
                                line: Some(open_line),
                                column: None,
                            },
                            reason: "a quoted field opened on this line is never closed (a `\"` is missing): \
                                     the rest of the file would be read into it"
                                .into(),
                        });
                    }
                    match b[i] {
                        b'"' if b.get(i + 1) == Some(&b'"') => i += 2,
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\n' => {
                            return Err(Error::CsvFormat {
                                at: Location {
                                    file: file.to_string(),
                                    line: Some(open_line),
                                    column: None,
                                },
                                reason: "a quoted field opened on this line runs past the end of the line \
                                         (a closing `\"` is missing?): rows would be swallowed into it"
                                    .into(),
                            });
                        }
                        _ => i += 1,
                    }
                }
                field_start = false;
            }
            d if d == delimiter => {
                field_start = true;
                i += 1;
            }
            b'\n' => {
                field_start = true;
                line += 1;
                i += 1;
            }
            b'\r' => {
                field_start = true;
                i += 1;
            }
            _ => {
                field_start = false;
                i += 1;
            }
        }
    }
    Ok(())
}

/// One row's line number and its cells.
pub(crate) type Cells = (usize, Vec<String>);

/// A CSV text as its header and `(line, cells)` rows, with the checks every reader of the
/// crate shares (unterminated quotes, field counts, duplicated or empty column names,
/// `#` comment lines, CRLF-safe line numbers).
pub(crate) fn read_cells(text: &str, file: &str) -> Result<(Vec<String>, Vec<Cells>)> {
    let raw = read_raw(text, file)?;
    Ok((raw.headers, raw.rows))
}

/// The delimiter of a CSV text, from its header (the first line that is not blank or a
/// `#` comment), outside quoted names: a comma where the header has one, otherwise a
/// semicolon (as spreadsheets write CSV where the comma is the decimal mark) or a tab
/// where it has one.
fn sniff_delimiter(text: &str) -> u8 {
    let header = text
        .lines()
        .map(|l| l.trim_start_matches('\u{feff}'))
        .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .unwrap_or_default();
    let mut quoted = false;
    let mut found = [false; 3];
    for b in header.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b',' if !quoted => found[0] = true,
            b';' if !quoted => found[1] = true,
            b'\t' if !quoted => found[2] = true,
            _ => {}
        }
    }
    match found {
        [true, _, _] => b',',
        [false, true, _] => b';',
        [false, false, true] => b'\t',
        _ => b',',
    }
}

/// A number written with a decimal comma (`1,5`, `-0,25`) as a decimal point (`1.5`):
/// files delimited by semicolons come from spreadsheets where the comma is the decimal
/// mark (R's `read.csv2`).
fn decimal_point(v: &str) -> Option<String> {
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    let (int, frac) = digits.split_once(',')?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (all_digits(int) && all_digits(frac)).then(|| v.replacen(',', ".", 1))
}

fn read_raw(text: &str, file: &str) -> Result<Raw> {
    let delimiter = sniff_delimiter(text);
    check_quotes(text, file, delimiter)?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .has_headers(true)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let loc = |line: Option<usize>| Location {
        file: file.to_string(),
        line,
        column: None,
    };
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::CsvFormat {
            at: loc(Some(1)),
            reason: format!("cannot read the header: {e}"),
        })?
        .iter()
        .map(|s| s.trim_start_matches('\u{feff}').to_string())
        .collect();
    if headers.is_empty() || headers.iter().all(|h| h.is_empty()) {
        return Err(Error::CsvFormat {
            at: loc(None),
            reason: "the file is empty: expected a header line and data rows".into(),
        });
    }
    if headers.len() == 1 && headers[0].contains('|') {
        return Err(Error::CsvFormat {
            at: loc(Some(1)),
            reason: format!(
                "the header is one column `{}`: the file looks delimited by `|`, but \
                 darkfigure reads files delimited by commas, semicolons or tabs",
                headers[0]
            ),
        });
    }
    if let Some(i) = headers.iter().position(|h| h.is_empty()) {
        return Err(Error::CsvFormat {
            at: loc(Some(1)),
            reason: format!("column {} has an empty name", i + 1),
        });
    }
    for (i, h) in headers.iter().enumerate() {
        if headers[..i].iter().any(|g| g.eq_ignore_ascii_case(h)) {
            return Err(Error::CsvFormat {
                at: loc(Some(1)),
                reason: format!("column `{h}` appears twice"),
            });
        }
    }
    // Line numbers from byte offsets: the csv crate's own count is off with CRLF ends.
    let newlines: Vec<usize> = text
        .bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| i)
        .collect();
    // (a record after a CRLF is reported as starting at its `\n`: count that one too)
    let line_of = |byte: u64| newlines.partition_point(|&i| (i as u64) <= byte) + 1;
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| line_of(p.byte()));
            Error::CsvFormat {
                at: loc(line),
                reason: format!("cannot parse the row: {e}"),
            }
        })?;
        let line = rec.position().map(|p| line_of(p.byte())).unwrap_or(0);
        if rec.len() == 1 && rec.get(0) == Some("") {
            continue; // blank line
        }
        if rec.len() != headers.len() {
            return Err(Error::CsvFormat {
                at: loc(Some(line)),
                reason: format!(
                    "the row has {} fields, the header has {}",
                    rec.len(),
                    headers.len()
                ),
            });
        }
        if rec
            .iter()
            .zip(&headers)
            .all(|(v, h)| v.trim().eq_ignore_ascii_case(h.trim()))
        {
            return Err(Error::CsvFormat {
                at: loc(Some(line)),
                reason: "the row repeats the header (were two files joined?): delete it, \
                         or it would be read as one more unit, occasion and stratum"
                    .into(),
            });
        }
        let cells = rec
            .iter()
            .map(|v| match delimiter {
                b';' => decimal_point(v).unwrap_or_else(|| v.to_string()),
                _ => v.to_string(),
            })
            .collect();
        rows.push((line, cells));
    }
    if rows.is_empty() {
        return Err(Error::CsvFormat {
            at: loc(None),
            reason: "the file has a header but no data rows".into(),
        });
    }
    Ok(Raw {
        file: file.to_string(),
        headers,
        rows,
        alias: Vec::new(),
    })
}

const FREQ_NAMES: [&str; 4] = ["freq", "frequency", "n", "count"];

fn is_binary(v: &str) -> bool {
    capture_flag(v).is_some()
}

/// A cell of an occasion (or list) column: `1` or `TRUE` (any case) is a capture, `0` or
/// `FALSE` none (R's `write.csv` writes logical columns as `TRUE`/`FALSE`). `yes`/`no`
/// are not read as captures: such columns are more often attributes of the units (a
/// `minor` flag) than lists, and would silently become occasions.
pub(crate) fn capture_flag(v: &str) -> Option<bool> {
    match v {
        "1" => Some(true),
        "0" => Some(false),
        _ if v.eq_ignore_ascii_case("true") => Some(true),
        _ if v.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Reads a CSV file from disk, detecting its layout unless `opts` forces one.
///
/// # Errors
/// [`Error::Io`] when the file cannot be read; otherwise as [`read_str`].
pub fn read_path(path: impl AsRef<std::path::Path>, opts: &ReadOptions) -> Result<DataSet> {
    let p = path.as_ref();
    let bytes = std::fs::read(p).map_err(|source| Error::Io {
        path: p.display().to_string(),
        source,
    })?;
    let text = decode_utf8(bytes, &p.display().to_string())?;
    read_str(&text, &p.display().to_string(), opts)
}

/// Reads a CSV file with everything detected (layout, frequency and count columns): the
/// one call from a file to data the estimators take. Also at the crate root as
/// `darkfigure::read_csv`.
///
/// # Errors
/// As [`read_path`].
pub fn read_csv(path: impl AsRef<std::path::Path>) -> Result<DataSet> {
    read_path(path, &ReadOptions::default())
}

/// Decodes file contents as UTF-8, or says on which line (and at which byte of it) the
/// first invalid byte sits.
///
/// # Errors
/// [`Error::CsvFormat`] naming the line when the bytes are not UTF-8.
pub fn decode_utf8(bytes: Vec<u8>, file: &str) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let ok = e.utf8_error().valid_up_to();
        let b = e.as_bytes();
        let line = b[..ok].iter().filter(|&&c| c == b'\n').count() + 1;
        let col = ok
            - b[..ok]
                .iter()
                .rposition(|&c| c == b'\n')
                .map_or(0, |i| i + 1)
            + 1;
        let hint = if b.starts_with(&[0xff, 0xfe]) || b.starts_with(&[0xfe, 0xff]) {
            " (the file starts with a UTF-16 byte-order mark: save it as UTF-8)"
        } else {
            " (save the file as UTF-8; Latin-1 or Windows-1252 text must be converted)"
        };
        Error::CsvFormat {
            at: Location {
                file: file.to_string(),
                line: Some(line),
                column: None,
            },
            reason: format!(
                "byte {col} of the line (0x{:02x}) is not valid UTF-8{hint}",
                b[ok]
            ),
        }
    })
}

/// Reads CSV text; `file` names it in error messages.
///
/// # Errors
/// [`Error::CsvFormat`] for a malformed file (empty, no occasion columns, more than 64
/// occasions, unequal rows...) and [`Error::CsvValue`] for a bad value (not 0/1, a
/// negative or fractional frequency, a never-seen unit with a positive frequency...).
pub fn read_str(text: &str, file: &str, opts: &ReadOptions) -> Result<DataSet> {
    let mut raw = read_raw(text, file)?;
    parse_raw(&mut raw, declares_lists(text), opts)
}

fn parse_raw(raw: &mut Raw, lists: bool, opts: &ReadOptions) -> Result<DataSet> {
    let guessed = raw.resolve_roles(opts)?;
    let raw = &*raw;
    let layout = match opts.layout {
        Some(l) => l,
        None => detect(raw, opts),
    };
    let mut notes: Vec<String> = guessed.into_iter().collect();
    match layout {
        Layout::Counts => {
            let (data, count_column) = parse_counts(raw, opts)?;
            Ok(DataSet::Counts { data, count_column })
        }
        Layout::Long => {
            let (data, order, long_notes) = parse_long(raw, opts)?;
            notes.extend(unused_long_columns(raw, opts));
            notes.extend(long_notes);
            if let Some(c) = raw.col("id") {
                notes.extend(case_variants_note(
                    raw.rows.iter().map(|(_, r)| r[c].as_str()),
                ));
            }
            Ok(DataSet::Histories {
                data: data.with_lists(lists),
                layout: Layout::Long,
                occasion_order: Some(order),
                notes,
                file_rows: Some(raw.rows.len()),
            })
        }
        l => Ok(DataSet::Histories {
            data: match l {
                Layout::Wide => {
                    let (h, wide_notes) = parse_wide(raw, opts)?;
                    notes.extend(wide_notes);
                    h
                }
                _ => parse_aggregated(raw, opts)?,
            }
            .with_lists(lists),
            layout: l,
            occasion_order: None,
            notes,
            file_rows: Some(raw.rows.len()),
        }),
    }
}

/// The columns of a long file other than the identifier, the occasion and the stratum,
/// in words (`None` when there are none): they are not used.
fn unused_long_columns(raw: &Raw, opts: &ReadOptions) -> Option<String> {
    let used = [raw.col("id"), raw.col("occasion"), raw.col("stratum")];
    let covariate = |c: usize| {
        opts.covariates
            .iter()
            .flatten()
            .any(|n| raw.headers[c].eq_ignore_ascii_case(n))
    };
    let named = |c: usize, o: &Option<String>| {
        o.as_ref()
            .is_some_and(|f| raw.headers[c].eq_ignore_ascii_case(f))
    };
    let unused: Vec<usize> = (0..raw.headers.len())
        .filter(|c| !used.contains(&Some(*c)))
        .filter(|&c| {
            !named(c, &opts.freq_column) && !named(c, &opts.subgroup_column) && !covariate(c)
        })
        .collect();
    let (&first, rest) = unused.split_first()?;
    let cols = if rest.is_empty() {
        format!("column `{}` is", raw.headers[first])
    } else {
        let names: Vec<&str> = unused.iter().map(|&c| raw.headers[c].as_str()).collect();
        format!("columns `{}` are", names.join("`, `"))
    };
    // A hint for the first column: a yes/no column marks a subgroup, another a stratum.
    let yes_no = raw.rows.iter().all(|(_, r)| yes_no(&r[first]).is_some());
    let name = &raw.headers[first];
    let hint = if yes_no {
        format!(" (--subgroup {name} would add estimates for the units it marks)")
    } else if raw.col("stratum").is_none() {
        format!(" (--stratum {name} would give estimates by its values)")
    } else {
        String::new()
    };
    Some(format!("{cols} not used{hint}"))
}

/// A cell of a yes/no column (a subgroup): `1`, `yes`, `true`, `y` say yes; `0`, `no`,
/// `false`, `n` or an empty cell say no (any case); anything else is neither.
pub(crate) fn yes_no(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "y" => Some(true),
        "0" | "no" | "false" | "n" | "" => Some(false),
        _ => None,
    }
}

/// Reads CSV text keeping only the rows whose `column` says yes (`1`, `yes`, `true`, `y`;
/// `0`, `no`, `false`, `n` or empty say no): a subgroup such as the minors among the
/// sellers. The column is then ignored like any other extra column.
///
/// # Errors
/// As [`read_str`]; [`Error::CsvFormat`] when the column is missing,
/// [`Error::CsvValue`] for a value that is neither yes nor no.
pub fn read_str_where(text: &str, file: &str, opts: &ReadOptions, column: &str) -> Result<DataSet> {
    let mut raw = read_raw(text, file)?;
    let c = raw.col(column).ok_or_else(|| Error::CsvFormat {
        at: raw.at(Some(1), None),
        reason: format!("no column `{column}` to select a subgroup by"),
    })?;
    let mut keep = Vec::new();
    for (line, r) in std::mem::take(&mut raw.rows) {
        let v = r.get(c).map(String::as_str).unwrap_or_default();
        match yes_no(v) {
            Some(true) => keep.push((line, r)),
            Some(false) => {}
            None => return Err(raw.value_err(line, c, v, "1/yes/true or 0/no/false")),
        }
    }
    if keep.is_empty() {
        return Err(Error::CsvFormat {
            at: raw.at(None, Some(c)),
            reason: format!("no row has `{column}` = yes: the subgroup is empty"),
        });
    }
    raw.rows = keep;
    parse_raw(&mut raw, declares_lists(text), opts)
}

/// The layout [`read_str`] would read `text` in (as forced by `opts`, or detected).
///
/// # Errors
/// As [`read_str`], for a file that cannot be read at all or names a missing column.
pub(crate) fn layout_of(text: &str, file: &str, opts: &ReadOptions) -> Result<Layout> {
    if let Some(l) = opts.layout {
        return Ok(l);
    }
    let mut raw = read_raw(text, file)?;
    raw.resolve_roles(opts)?;
    Ok(detect(&raw, opts))
}

/// One column's value for each unit, and the line each value was read from.
pub(crate) type UnitValues = (Vec<String>, Vec<usize>);

/// A long file read as [`read_str`] reads it, with the value each unit has in each of
/// `columns` (units in the order of the histories), and the line of that value: a
/// column of the units' traits (sex, age group), the same on all of a unit's records.
///
/// # Errors
/// As [`read_str`]; [`Error::CsvFormat`] for a missing column; [`Error::CsvValue`] at the
/// first record of a unit whose value differs from its earlier records'.
pub(crate) fn read_long_with_unit_values(
    text: &str,
    file: &str,
    opts: &ReadOptions,
    columns: &[String],
) -> Result<(DataSet, Vec<UnitValues>)> {
    let mut raw = read_raw(text, file)?;
    let opts = ReadOptions {
        layout: Some(Layout::Long),
        ..opts.clone()
    };
    let set = parse_raw(&mut raw, declares_lists(text), &opts)?;
    let DataSet::Histories { data, .. } = &set else {
        unreachable!("the long layout reads histories")
    };
    let (Some(ids), Some(id_col)) = (data.ids(), raw.col("id")) else {
        unreachable!("the long layout names its units")
    };
    // Under `each`, a unit is an identifier in one stratum.
    let each = raw
        .col("stratum")
        .filter(|_| opts.unit_stratum == UnitStratum::Each);
    let unit_stratum = |k: usize| match (each, data.strata()) {
        (Some(_), Some(st)) => st.names[st.codes[k] as usize].as_str(),
        _ => "",
    };
    let unit: std::collections::HashMap<(&str, &str), usize> = ids
        .iter()
        .enumerate()
        .map(|(k, id)| ((id.as_str(), unit_stratum(k)), k))
        .collect();
    let mut out = Vec::with_capacity(columns.len());
    for name in columns {
        let c = raw.col(name).ok_or_else(|| Error::CsvFormat {
            at: raw.at(Some(1), None),
            reason: format!(
                "no column `{name}` (in a long file a covariate is a column holding one value \
                 per unit; time-varying covariates need the wide layout); the columns are {}",
                raw.headers.join(", ")
            ),
        })?;
        let mut value: Vec<Option<(usize, &str)>> = vec![None; ids.len()];
        for (line, r) in &raw.rows {
            let key = (r[id_col].as_str(), each.map_or("", |c| r[c].as_str()));
            let Some(&k) = unit.get(&key) else {
                continue;
            };
            match value[k] {
                None => value[k] = Some((*line, &r[c])),
                Some((first, v)) if v != r[c] => {
                    return Err(raw.value_err(
                        *line,
                        c,
                        &r[c],
                        &format!(
                            "`{v}` as on line {first}, where unit `{}` was recorded before: a \
                             covariate holds one value per unit, the same on each of its \
                             records",
                            r[id_col]
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        let (lines, vals) = value
            .into_iter()
            .map(|x| x.map_or((0, String::new()), |(l, v)| (l, v.to_string())))
            .unzip();
        out.push((vals, lines));
    }
    Ok((set, out))
}

/// Whether the file declares its columns unordered lists: a comment line before the
/// header (lines starting with `#` are comments) whose words include `lists`, such as
/// `# sources: lists`.
fn declares_lists(text: &str) -> bool {
    text.lines()
        .map(|l| l.trim_start_matches('\u{feff}').trim())
        .take_while(|l| l.is_empty() || l.starts_with('#'))
        .any(|l| {
            l.split(|c: char| !c.is_alphanumeric())
                .any(|w| w.eq_ignore_ascii_case("lists"))
        })
}

/// Reads capture histories from CSV text (any history layout).
///
/// # Errors
/// As [`read_str`], plus [`Error::CsvFormat`] when the file holds single-source counts.
pub fn read_histories_str(text: &str, file: &str, opts: &ReadOptions) -> Result<CaptureHistories> {
    match read_str(text, file, opts)? {
        DataSet::Histories { data, .. } => Ok(data),
        DataSet::Counts { .. } => Err(Error::CsvFormat {
            at: Location {
                file: file.into(),
                line: Some(1),
                column: None,
            },
            reason: "the file holds single-source counts, not capture histories".into(),
        }),
    }
}

/// Reads single-source counts from CSV text.
///
/// # Errors
/// As [`read_str`].
pub fn read_counts_str(text: &str, file: &str, opts: &ReadOptions) -> Result<CountData> {
    let raw = read_raw(text, file)?;
    Ok(parse_counts(&raw, opts)?.0)
}

fn detect(raw: &Raw, opts: &ReadOptions) -> Layout {
    if raw.col("history").is_some() {
        return Layout::Aggregated;
    }
    if raw.col("id").is_some() && raw.col("occasion").is_some() {
        return Layout::Long;
    }
    if opts.count_column.is_some() || raw.col("nbcap").is_some() {
        return Layout::Counts;
    }
    let freq = wide_freq_column(raw, opts);
    let special =
        |c: usize| Some(c) == freq || Some(c) == raw.col("id") || Some(c) == raw.col("stratum");
    let all_binary = raw.rows.iter().all(|(_, r)| {
        r.iter()
            .enumerate()
            .all(|(c, v)| special(c) || is_binary(v))
    });
    let Some(count) = raw.col("count") else {
        // No `count` column: a table that cannot be histories (not all 0/1) whose one
        // column of whole numbers ≥ 1 is the count (singleRcapture's `capture`, `TOTAL_SUB`).
        return if !all_binary && sole_count_column(raw, opts).is_some() {
            Layout::Counts
        } else {
            Layout::Wide
        };
    };
    if !all_binary {
        return Layout::Counts;
    }
    // All 0/1 beside a `count` column: histories only if there are at least two
    // occasion columns and no row is all zeros with a positive count (a unit never seen
    // cannot be in the data); otherwise the 0/1 columns are covariates of counts.
    let occasions: Vec<usize> = (0..raw.headers.len()).filter(|&c| !special(c)).collect();
    let impossible = raw.rows.iter().any(|(_, r)| {
        occasions
            .iter()
            .all(|&c| capture_flag(&r[c]) == Some(false))
            && r.get(count).is_some_and(|v| v != "0")
    });
    if occasions.len() < 2 || impossible {
        Layout::Counts
    } else {
        Layout::Wide
    }
}

/// Columns other than the frequency, `id` and `stratum` columns.
fn value_columns(raw: &Raw, opts: &ReadOptions) -> Vec<usize> {
    let freq = wide_freq_column(raw, opts);
    (0..raw.headers.len())
        .filter(|&c| Some(c) != freq && Some(c) != raw.col("id") && Some(c) != raw.col("stratum"))
        .collect()
}

/// The column of counts of a single-source file without a `count` column: the only
/// column whose values are all whole numbers of at least 1, not all 1, with at most half
/// as many distinct values as rows (an identifier or a size per row is not a count of
/// captures), in a table with fewer than two 0/1 columns (two or more are occasions of
/// capture histories, whose other columns are covariates).
fn sole_count_column(raw: &Raw, opts: &ReadOptions) -> Option<usize> {
    let cols = value_columns(raw, opts);
    let all = |c: usize, f: &dyn Fn(&str) -> bool| raw.rows.iter().all(|(_, r)| f(&r[c]));
    let binary = cols.iter().filter(|&&c| all(c, &is_binary)).count();
    if binary >= 2 || raw.rows.is_empty() {
        return None;
    }
    let counts: Vec<usize> = cols
        .into_iter()
        .filter(|&c| {
            !names_a_grouping(&raw.headers[c])
                && all(c, &|v| v.parse::<u64>().is_ok_and(|k| k >= 1))
                && raw.rows.iter().any(|(_, r)| r[c] != "1")
                && {
                    let distinct: std::collections::HashSet<&str> =
                        raw.rows.iter().map(|(_, r)| r[c].as_str()).collect();
                    2 * distinct.len() <= raw.rows.len()
                }
        })
        .collect();
    match counts[..] {
        [c] => Some(c),
        _ => None,
    }
}

/// The words of a column name, lower case: split at anything not a letter or digit and
/// where a lower-case letter meets an upper-case one (`PersonID` → `person`, `id`).
fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for ch in name.chars() {
        if !ch.is_alphanumeric() {
            words.push(std::mem::take(&mut cur));
            prev_lower = false;
            continue;
        }
        if prev_lower && ch.is_uppercase() {
            words.push(std::mem::take(&mut cur));
        }
        prev_lower = ch.is_lowercase();
        cur.extend(ch.to_lowercase());
    }
    words.push(cur);
    words.retain(|w| !w.is_empty());
    words
}

/// Words that make a column name read as the occasion of a record (long layout).
const OCCASION_WORDS: [&str; 18] = [
    "occasion",
    "occ",
    "operation",
    "period",
    "session",
    "wave",
    "visit",
    "sample",
    "survey",
    "round",
    "date",
    "year",
    "month",
    "week",
    "day",
    "time",
    "list",
    "source",
];

fn names_an_occasion(name: &str) -> bool {
    name_words(name)
        .iter()
        .any(|w| OCCASION_WORDS.contains(&w.as_str()))
}

/// A column name that reads as a trait of the units (`female`, `sex`, `is_minor`,
/// `age_group`, `nationality`) rather than an occasion or a list: in a wide file such a
/// 0/1 column would silently become one more occasion.
fn names_an_attribute(name: &str) -> bool {
    const TRAITS: [&str; 39] = [
        "sex",
        "gender",
        "female",
        "male",
        "minor",
        "juvenile",
        "underage",
        "adult",
        "age",
        "agegroup",
        "agecat",
        "foreign",
        "foreigner",
        "citizen",
        "citizenship",
        "nationality",
        "national",
        "native",
        "ethnicity",
        "race",
        "married",
        "disabled",
        "disability",
        "ethnic",
        "indigenous",
        "religion",
        "migrant",
        "immigrant",
        "refugee",
        "homeless",
        "employed",
        "unemployed",
        "student",
        "veteran",
        "pregnant",
        "transgender",
        "injector",
        "pwid",
        "msm",
    ];
    // last words that make any name a trait: `hiv_status`, `gang_member`
    const TRAIT_ENDS: [&str; 3] = ["status", "member", "membership"];
    let words = name_words(name);
    let kept: Vec<&str> = words
        .iter()
        .map(String::as_str)
        .filter(|w| !matches!(*w, "is" | "has" | "was"))
        .collect();
    let plain: String = kept.concat();
    !names_an_occasion(name)
        && (TRAITS.contains(&plain.as_str())
            || (kept.len() > 1 && kept.last().is_some_and(|w| TRAIT_ENDS.contains(w))))
}

/// A column name that reads as a unit identifier (`person_id`, `CaseID`, `individual`)
/// and not as an occasion (`operation_id`).
fn names_an_identifier(name: &str) -> bool {
    const IDS: [&str; 5] = ["id", "identifier", "ident", "uid", "pid"];
    const UNITS: [&str; 12] = [
        "person",
        "individual",
        "subject",
        "animal",
        "unit",
        "case",
        "client",
        "patient",
        "victim",
        "offender",
        "suspect",
        "respondent",
    ];
    let words = name_words(name);
    let plain = words.concat();
    !names_an_occasion(name)
        && (words.iter().any(|w| IDS.contains(&w.as_str()))
            || UNITS.contains(&plain.as_str())
            || UNITS.iter().any(|u| plain == format!("{u}id")))
}

/// Whether a column name says the column labels groups of rows (a survey's cluster, a
/// stratum, a site) rather than counting captures: such a column is never taken for the
/// counts of a single-source file, whatever its values.
fn names_a_grouping(name: &str) -> bool {
    let n = name.trim().to_ascii_lowercase();
    const NAMES: [&str; 12] = [
        "cluster",
        "psu",
        "ssu",
        "region",
        "site",
        "group",
        "block",
        "wave",
        "household",
        "village",
        "district",
        "area",
    ];
    NAMES.contains(&n.as_str())
        || n.starts_with("strat")
        || n.ends_with("_id")
        || n.ends_with(".id")
}

/// Two-source summary counts (columns `n1…`, `n2…` and `m…`, one study per row): how to
/// give them to `estimate`, row by row (at most three rows shown).
fn two_source_hint(raw: &Raw) -> Option<String> {
    let find = |stem: &str| {
        raw.headers.iter().position(|h| {
            let h = h.trim().to_ascii_lowercase();
            h == stem || h.starts_with(&format!("{stem}_"))
        })
    };
    let (n1, n2, m) = (find("n1")?, find("n2")?, find("m")?);
    let label = raw.headers.iter().enumerate().position(|(c, _)| {
        ![n1, n2, m].contains(&c) && raw.rows.iter().any(|(_, r)| r[c].parse::<f64>().is_err())
    });
    let runs: Vec<String> = raw
        .rows
        .iter()
        .take(3)
        .map(|(_, r)| {
            let name = label
                .map(|c| format!(" ({})", r[c].trim()))
                .unwrap_or_default();
            format!(
                "--two-source {},{},{}{name}",
                r[n1].trim(),
                r[n2].trim(),
                r[m].trim()
            )
        })
        .collect();
    Some(format!(
        "two-source summary counts (`{}`, `{}`, `{}`: one study per row) are given on the \
         command line, one study at a time: {}",
        raw.headers[n1],
        raw.headers[n2],
        raw.headers[m],
        runs.join("; ")
    ))
}

/// The stem of an occasion-like column name: letters (or `_`, `.`) followed by digits,
/// e.g. `c` for `c12`, `op` for `op3` (`None` for `sex` or `2019`).
fn occasion_stem(name: &str) -> Option<&str> {
    let n = name.trim();
    let digits = n.len() - n.trim_end_matches(|c: char| c.is_ascii_digit()).len();
    let stem = &n[..n.len() - digits];
    (digits > 0
        && !stem.is_empty()
        && stem
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '.'))
    .then_some(stem)
}

/// The columns to name as covariates in the hint of [`occasion_value_hint`]: when the
/// first 0/1 column is named like an occasion (`c1`, `op1`) and at least two 0/1 columns
/// share its stem, every column without that stem, 0/1 or not (a 0/1 `sex` beside `c1..c6`
/// is a covariate too: leaving it out would make it a seventh occasion); otherwise the
/// columns that are not 0/1.
fn covariate_candidates<'a>(raw: &'a Raw, binary: &[usize], other: &[usize]) -> Vec<&'a str> {
    let name = |c: usize| raw.headers[c].as_str();
    let stem = binary.first().and_then(|&c| occasion_stem(name(c)));
    if let Some(stem) = stem {
        let same = |c: usize| occasion_stem(name(c)) == Some(stem);
        let occasions = binary.iter().filter(|&&c| same(c)).count();
        // a non-0/1 column with the stem is an occasion with a bad value, not a covariate
        if occasions >= 2 && other.iter().all(|&c| !same(c)) {
            let mut cols: Vec<usize> = binary
                .iter()
                .chain(other)
                .copied()
                .filter(|&c| !same(c))
                .collect();
            cols.sort_unstable();
            return cols.into_iter().map(name).collect();
        }
    }
    other.iter().map(|&c| name(c)).collect()
}

/// What a non-0/1 value in an occasion column may mean: covariates beside 0/1 occasion
/// columns (named with `--covariates`), or single-source counts (named with `--count`).
fn occasion_value_hint(raw: &Raw, opts: &ReadOptions) -> String {
    let cols = value_columns(raw, opts);
    let (binary, other): (Vec<usize>, Vec<usize>) = cols
        .into_iter()
        .partition(|&c| raw.rows.iter().all(|(_, r)| is_binary(&r[c])));
    let mut hint = String::from("0 or 1 (an occasion of a capture history; ");
    if binary.len() >= 2 && !other.is_empty() {
        let names = covariate_candidates(raw, &binary, &other);
        hint.push_str(&format!(
            "if {} are covariates of the histories in the 0/1 columns, name them with \
             --covariates {}; ",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            names.join(",")
        ));
    }
    let estimates = estimates_table(raw);
    let known = known_populations_table(raw);
    if let Some((name, size)) = known {
        // sizes of named groups, not records: the count hint would mislead
        hint.push_str(&format!(
            "the file looks like a table of known population sizes (`{name}`, `{size}`): \
             network scale-up reads it beside its survey, `keypop nsum SURVEY FILE --total N`"
        ));
    } else if estimates {
        // published figures, not records: the count hint would mislead
        hint.push_str(
            "the file looks like a table of size estimates with their intervals: several \
             methods' estimates of one population are combined by the `keypop` example, \
             `keypop triangulate FILE` (columns name, estimate, lower95, upper95[, \
             design_confidence_pct])",
        );
    } else {
        hint.push_str("if the file holds single-source counts, name the count column with --count");
    }
    let two = two_source_hint(raw);
    if let Some(two) = &two {
        hint.push_str("; ");
        hint.push_str(two);
    }
    if let Some(m) = multiplier_hint(raw, &binary, &other) {
        hint.push_str("; ");
        hint.push_str(&m);
    } else if binary.len() < 2 && other.len() >= 5 && two.is_none() && !estimates {
        // many numeric answers per row: a survey of respondents, not capture records
        hint.push_str(
            "; a survey of respondents (network scale-up, RDS, multiplier) is read by the \
             `keypop` example: `keypop nsum`, `keypop rds`, `keypop sspse`, `keypop multiplier`",
        );
    }
    hint.push(')');
    hint
}

/// A table of known population sizes for network scale-up: two columns, one of names
/// (not numbers) and one of positive numbers; returns their headers (name, size).
fn known_populations_table(raw: &Raw) -> Option<(&str, &str)> {
    if raw.headers.len() != 2 || raw.rows.is_empty() {
        return None;
    }
    let all = |c: usize, f: &dyn Fn(&str) -> bool| raw.rows.iter().all(|(_, r)| f(r[c].trim()));
    let number = |v: &str| v.parse::<f64>().is_ok_and(|x| x.is_finite() && x > 0.0);
    let text = |v: &str| !v.is_empty() && v.parse::<f64>().is_err();
    let (name, size) = if all(0, &text) && all(1, &number) {
        (0, 1)
    } else if all(1, &text) && all(0, &number) {
        (1, 0)
    } else {
        return None;
    };
    Some((raw.headers[name].as_str(), raw.headers[size].as_str()))
}

/// A multiplier (unique-object) survey: one 0/1 column named for receiving something
/// (`received_object`, `got_gift`, `keychain`), one row per respondent; the hint names
/// `keypop multiplier` with that column and a weight column when there is one.
fn multiplier_hint(raw: &Raw, binary: &[usize], other: &[usize]) -> Option<String> {
    const RECEIVED: [&str; 6] = ["receiv", "object", "gift", "keychain", "token", "got"];
    let [b] = binary else { return None };
    let name = raw.headers[*b].as_str();
    let lower = name.to_ascii_lowercase();
    if !RECEIVED.iter().any(|w| lower.contains(w)) {
        return None;
    }
    let weight = other
        .iter()
        .map(|&c| raw.headers[c].as_str())
        .find(|h| h.to_ascii_lowercase().contains("weight"))
        .map(|w| format!(" --weight {w}"))
        .unwrap_or_default();
    let inclusion = if weight.is_empty() {
        ""
    } else {
        "; add --weight-is-inclusion if the weights are proportional to the chance of being \
         surveyed (a degree) rather than its inverse"
    };
    Some(format!(
        "a survey asking each respondent whether they received a unique object (`{name}`) \
         gives a multiplier estimate: `keypop multiplier FILE --objects M --received {name}{weight}` \
         (M = the number of objects handed out{inclusion})"
    ))
}

/// Headers of a table of published estimates: an estimate column and lower and upper
/// limits (`estimate`/`point_estimate`, `lower95`/`lower_plausible`, `upper95`, ...).
fn estimates_table(raw: &Raw) -> bool {
    let has = |words: &[&str]| {
        raw.headers.iter().any(|h| {
            let h = h.to_ascii_lowercase();
            words.iter().any(|w| h.contains(w))
        })
    };
    has(&["estimate"]) && has(&["lower", "low"]) && has(&["upper", "high"])
}

fn wide_freq_column(raw: &Raw, opts: &ReadOptions) -> Option<usize> {
    match &opts.freq_column {
        Some(name) => raw.col(name),
        None => FREQ_NAMES.iter().find_map(|n| raw.col(n)),
    }
}

/// The frequency column the caller named must exist: otherwise the real frequency column
/// would silently be read as something else (an occasion, a covariate).
fn check_named_freq(raw: &Raw, opts: &ReadOptions) -> Result<()> {
    match &opts.freq_column {
        Some(name) if raw.col(name).is_none() => Err(Error::CsvFormat {
            at: raw.at(Some(1), None),
            reason: format!(
                "no column named `{name}` for the frequencies (the columns are {})",
                raw.headers.join(", ")
            ),
        }),
        _ => Ok(()),
    }
}

fn parse_freq(raw: &Raw, line: usize, col: usize, v: &str) -> Result<u64> {
    raw.parse_u64(line, col, v, "a frequency: a non-negative whole number")
}

/// Adds a row's frequency to the running total, refusing a total beyond 2⁵³ (where
/// counts stop being exact in the f64 arithmetic of the estimators; a u64 sum would
/// also wrap silently further on).
fn add_freq(raw: &Raw, total: &mut u64, f: u64, line: usize, col: Option<usize>) -> Result<()> {
    match total
        .checked_add(f)
        .filter(|&t| t <= crate::data::MAX_UNITS)
    {
        Some(t) => {
            *total = t;
            Ok(())
        }
        None => Err(Error::CsvFormat {
            at: raw.at(Some(line), col),
            reason: format!(
                "the frequencies add up to more than {} units by this row: \
                 counts this large are not supported",
                crate::data::MAX_UNITS
            ),
        }),
    }
}

/// A stratum column with an empty cell is refused at the first such line: the rows would
/// otherwise form a stratum named "" (and a blank is more often a value missing than a
/// name).
fn no_blank_stratum(raw: &Raw, col: Option<usize>) -> Result<()> {
    match col.and_then(|c| blank_stratum(&raw.rows, c).map(|b| (c, b))) {
        Some((c, (line, expected))) => Err(raw.value_err(line, c, "", &expected)),
        None => Ok(()),
    }
}

/// The first line whose stratum cell (column `c`) is empty, and what was expected there,
/// counting the rows without one.
pub(crate) fn blank_stratum(rows: &[(usize, Vec<String>)], c: usize) -> Option<(usize, String)> {
    let blank = |r: &Vec<String>| r.get(c).is_some_and(|v| v.trim().is_empty());
    let (line, _) = rows.iter().find(|(_, r)| blank(r))?;
    let n = rows.iter().filter(|(_, r)| blank(r)).count();
    let (s, verb, them) = if n == 1 {
        ("", "has", "it")
    } else {
        ("s", "have", "them")
    };
    Some((
        *line,
        format!(
            "a stratum name: {n} row{s} {verb} none (give {them} one, such as `unknown`, or \
             remove {them})"
        ),
    ))
}

fn parse_wide(raw: &Raw, opts: &ReadOptions) -> Result<(CaptureHistories, Vec<String>)> {
    check_named_freq(raw, opts)?;
    let freq_col = wide_freq_column(raw, opts);
    let id_col = raw.col("id");
    let stratum_col = raw.col("stratum");
    no_blank_stratum(raw, stratum_col)?;
    let subgroup_col = opts.subgroup_column.as_deref().and_then(|n| raw.col(n));
    let occ: Vec<usize> = (0..raw.headers.len())
        .filter(|&c| {
            Some(c) != freq_col
                && Some(c) != id_col
                && Some(c) != stratum_col
                && Some(c) != subgroup_col
        })
        .collect();
    if occ.is_empty() {
        return Err(Error::CsvFormat {
            at: raw.at(Some(1), None),
            reason: "the header has no occasion columns (every column is id, stratum or freq)"
                .into(),
        });
    }
    if occ.len() > MAX_OCCASIONS {
        return Err(Error::CsvFormat {
            at: raw.at(Some(1), None),
            reason: format!(
                "{} occasion columns: at most {MAX_OCCASIONS} are supported",
                occ.len()
            ),
        });
    }
    let mut hist = Vec::with_capacity(raw.rows.len());
    let mut freq = Vec::with_capacity(raw.rows.len());
    let mut ids = Vec::new();
    let mut strata = Vec::new();
    let mut total = 0u64;
    for (line, r) in &raw.rows {
        let mut code = 0u64;
        for (j, &c) in occ.iter().enumerate() {
            match capture_flag(&r[c]) {
                Some(false) => {}
                Some(true) => code |= 1 << j,
                None if r[c].is_empty() => {
                    return Err(raw.value_err(
                        *line,
                        c,
                        "",
                        "0 or 1, not an empty cell (write 0 where the unit was not seen \
                         or is not on this list)",
                    ));
                }
                None => {
                    return Err(raw.value_err(*line, c, &r[c], &occasion_value_hint(raw, opts)));
                }
            }
        }
        let f = match freq_col {
            Some(c) => parse_freq(raw, *line, c, &r[c])?,
            None => 1,
        };
        add_freq(raw, &mut total, f, *line, freq_col)?;
        if code == 0 && f > 0 {
            return Err(raw.value_err(
                *line,
                freq_col.unwrap_or(occ[0]),
                &r[freq_col.unwrap_or(occ[0])],
                "a unit that was seen: this row is all zeros (never seen) with a positive frequency",
            ));
        }
        hist.push(code);
        freq.push(f);
        if let Some(c) = id_col {
            ids.push(r[c].clone());
        }
        if let Some(c) = stratum_col {
            strata.push(r[c].clone());
        }
    }
    // Checked once every cell read as 0/1: a file whose other columns hold values
    // gets the hints of the first such value instead (covariates, counts).
    if let Some(&c) = occ.iter().find(|&&c| names_an_attribute(&raw.headers[c])) {
        let name = &raw.headers[c];
        return Err(Error::CsvFormat {
            at: raw.at(Some(1), Some(c)),
            reason: format!(
                "column `{name}` reads as a trait of the units, not as an occasion or a \
                 list, and would be counted as one; say how to use it: --subgroup {name} \
                 (estimates for the units it marks, beside all), --stratum {name} (separate \
                 estimates for each value) or --covariates {name} (catchability depending \
                 on it: Huggins models); if it really is a list or an occasion, rename the \
                 column"
            ),
        });
    }
    let mut notes = Vec::new();
    if let Some(c) = id_col {
        let names: Vec<String> = occ.iter().map(|&c| raw.headers[c].clone()).collect();
        let (rows, merged) = merge_repeated_ids(
            raw,
            c,
            freq_col,
            stratum_col,
            opts.unit_stratum,
            &names,
            (hist, freq, ids, strata),
        )?;
        (hist, freq, ids, strata) = rows;
        notes.extend(merged);
        if opts.unit_stratum == UnitStratum::Each && stratum_col.is_some() {
            notes.extend(each_stratum_note(&ids, &strata));
        }
        notes.extend(case_variants_note(ids.iter().map(String::as_str)));
    }
    let names = occ.iter().map(|&c| raw.headers[c].clone()).collect();
    let h = finish(
        raw,
        occ.len(),
        hist,
        freq,
        names,
        id_col.map(|_| ids),
        stratum_col.map(|_| strata),
    )?;
    Ok((h, notes))
}

/// Columns of the wide reader, row by row: histories, frequencies, identifiers, strata.
type WideRows = (Vec<u64>, Vec<u64>, Vec<String>, Vec<String>);

/// A wide file's rows that share an identifier are one unit seen on every occasion any
/// of them marks (two list extracts stacked, one row per list): they are merged, in
/// order of first appearance, and the note says so. Refused where a frequency column
/// makes each row a count of units, or where the rows disagree on the stratum (unless a
/// [`UnitStratum`] rule picks one).
fn merge_repeated_ids(
    raw: &Raw,
    id_col: usize,
    freq_col: Option<usize>,
    stratum_col: Option<usize>,
    rule: UnitStratum,
    occasions: &[String],
    (hist, freq, ids, strata): WideRows,
) -> Result<(WideRows, Vec<String>)> {
    let lines: Vec<usize> = raw.rows.iter().map(|(l, _)| *l).collect();
    // Under `each`, a unit is an identifier in one stratum.
    let each = stratum_col.filter(|_| rule == UnitStratum::Each);
    let mut pick = stratum_col
        .filter(|_| each.is_none())
        .map(|c| StratumPick::new(rule, c, id_col));
    // slot of each identifier (and stratum, under `each`) in the merged rows, with the
    // row it first appeared on
    let mut slot: std::collections::HashMap<(&str, &str), (usize, usize)> =
        std::collections::HashMap::new();
    let mut first_repeat: Option<(usize, usize)> = None; // (row of first, row of repeat)
    let mut out: WideRows = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rows_of: Vec<usize> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let key = (id.as_str(), each.map_or("", |c| raw.rows[i].1[c].as_str()));
        let Some(&(k, j)) = slot.get(&key) else {
            slot.insert(key, (out.0.len(), i));
            out.0.push(hist[i]);
            out.1.push(freq[i]);
            out.2.push(id.clone());
            if each.is_some() {
                out.3.push(strata[i].clone());
            }
            if let Some(p) = pick.as_mut() {
                p.unit(i, hist[i]);
            }
            rows_of.push(1);
            continue;
        };
        if let Some(c) = freq_col {
            return Err(raw.value_err(
                lines[i],
                id_col,
                id,
                &format!(
                    "an identifier not already used (line {}): with a `{}` column each row \
                     counts units, so a repeated identifier cannot be merged",
                    lines[j], raw.headers[c]
                ),
            ));
        }
        if let Some(p) = pick.as_mut() {
            p.row(raw, k, i, hist[i])?;
        }
        first_repeat.get_or_insert((j, i));
        out.0[k] |= hist[i];
        rows_of[k] += 1;
    }
    let Some((j0, i0)) = first_repeat else {
        return Ok(((hist, freq, ids, strata), Vec::new()));
    };
    let mut notes = Vec::new();
    if let Some(p) = pick {
        let (strata, note) = p.strata(raw, &out.2, occasions)?;
        out.3 = strata;
        notes.extend(note);
    }
    let units = rows_of.iter().filter(|&&r| r > 1).count();
    let rows: usize = rows_of.iter().filter(|&&r| r > 1).sum();
    let note = format!(
        "identifier `{}` is on more than one row (lines {} and {}){}: the rows of an \
         identifier were merged into one unit, seen on every occasion any of them marks \
         ({rows} rows into {units} unit{})",
        ids[i0],
        lines[j0],
        lines[i0],
        if units > 1 {
            format!(
                ", as are {} other identifier{}",
                units - 1,
                plural(units - 1)
            )
        } else {
            String::new()
        },
        plural(units)
    );
    notes.insert(0, note);
    Ok((out, notes))
}

/// Under [`UnitStratum::Each`], the note on the identifiers recorded in more than one
/// stratum (units `ids` with their `strata`), each counted once in each: how many, and
/// the first with its strata.
fn each_stratum_note(ids: &[String], strata: &[String]) -> Option<String> {
    let mut of: std::collections::HashMap<&str, Vec<&str>> = Default::default();
    let mut order: Vec<&str> = Vec::new();
    for (id, st) in ids.iter().zip(strata) {
        let e = of.entry(id).or_insert_with(|| {
            order.push(id);
            Vec::new()
        });
        if !e.contains(&st.as_str()) {
            e.push(st);
        }
    }
    let several: Vec<&str> = order.into_iter().filter(|id| of[id].len() > 1).collect();
    let first = several.first()?;
    let n = several.len();
    let one = n == 1;
    Some(format!(
        "{n} unit{} recorded in more than one stratum {} counted in each, with the captures \
         recorded there (--unit-stratum each; first: `{first}`, in {}): each stratum's \
         figure is the population of that stratum, and a total over strata counts {} once \
         per stratum",
        plural(n),
        if one { "is" } else { "are" },
        of[first]
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(" and "),
        if one { "it" } else { "them" },
    ))
}

/// Per unit, the row whose stratum it takes under a [`UnitStratum`] rule: its first row,
/// or the row of its first or last occasion.
struct StratumPick {
    rule: UnitStratum,
    /// Stratum and identifier columns.
    col: usize,
    id_col: usize,
    /// Per unit: the row it takes its stratum from, that row's occasion (first or last,
    /// by the rule), the unit's first row, a row on the same occasion naming another
    /// stratum, and whether its rows name more than one stratum.
    pick: Vec<usize>,
    key: Vec<usize>,
    first: Vec<usize>,
    clash: Vec<Option<usize>>,
    mixed: Vec<bool>,
}

impl StratumPick {
    fn new(rule: UnitStratum, col: usize, id_col: usize) -> Self {
        StratumPick {
            rule,
            col,
            id_col,
            pick: Vec::new(),
            key: Vec::new(),
            first: Vec::new(),
            clash: Vec::new(),
            mixed: Vec::new(),
        }
    }

    /// The occasion a row is ordered by: its first (or, by the rule, last) capture.
    fn key(&self, code: u64) -> usize {
        match self.rule {
            UnitStratum::Last => 63 - code.leading_zeros() as usize,
            _ => code.trailing_zeros() as usize,
        }
    }

    /// A new unit, first recorded on `row` with captures `code`.
    fn unit(&mut self, row: usize, code: u64) {
        self.pick.push(row);
        self.key.push(self.key(code));
        self.first.push(row);
        self.clash.push(None);
        self.mixed.push(false);
    }

    /// A later row of unit `k`. Under [`UnitStratum::Refuse`], a stratum other than its
    /// first row's is refused at this row.
    fn row(&mut self, raw: &Raw, k: usize, row: usize, code: u64) -> Result<()> {
        let c = self.col;
        let here = &raw.rows[row].1[c];
        if *here != raw.rows[self.first[k]].1[c] {
            self.mixed[k] = true;
        }
        if self.rule == UnitStratum::Refuse {
            let there = &raw.rows[self.first[k]].1[c];
            if here != there {
                return Err(raw.value_err(
                    raw.rows[row].0,
                    c,
                    here,
                    &format!(
                        "stratum `{there}` as on this unit's earlier rows (line {}; a unit \
                         counts in one stratum: to place each unit in the stratum of its \
                         first or last occasion, give --unit-stratum first or last; to \
                         count it in each, with the captures recorded there, when the \
                         strata are roles, --unit-stratum each)",
                        raw.rows[self.first[k]].0
                    ),
                ));
            }
            return Ok(());
        }
        let key = self.key(code);
        if key == self.key[k] {
            if *here != raw.rows[self.pick[k]].1[c] && self.clash[k].is_none() {
                self.clash[k] = Some(row);
            }
        } else if (key > self.key[k]) == (self.rule == UnitStratum::Last) {
            self.pick[k] = row;
            self.key[k] = key;
            self.clash[k] = None;
        }
        Ok(())
    }

    /// Each unit's stratum (units named by `ids`, occasions by `occasions`), with a note
    /// on the units recorded in more than one.
    ///
    /// # Errors
    /// A unit in two strata on the occasion the rule goes by.
    fn strata(
        self,
        raw: &Raw,
        ids: &[String],
        occasions: &[String],
    ) -> Result<(Vec<String>, Option<String>)> {
        let c = self.col;
        let which = if self.rule == UnitStratum::Last {
            "last"
        } else {
            "first"
        };
        if let Some((k, &Some(i))) = self.clash.iter().enumerate().find(|(_, x)| x.is_some()) {
            let (pl, pr) = &raw.rows[self.pick[k]];
            let (line, r) = &raw.rows[i];
            return Err(raw.value_err(
                *line,
                c,
                &r[c],
                &format!(
                    "stratum `{}` as on line {pl}: unit `{}` is in two strata on its \
                     {which} occasion `{}`, so --unit-stratum {which} cannot choose between \
                     them",
                    pr[c], ids[k], occasions[self.key[k]]
                ),
            ));
        }
        let moved = self.mixed.iter().filter(|&&m| m).count();
        let note = self.mixed.iter().position(|&m| m).map(|k| {
            let mut named: Vec<&str> = Vec::new();
            for (_, r) in raw.rows.iter().filter(|(_, r)| r[self.id_col] == ids[k]) {
                if !named.contains(&r[c].as_str()) {
                    named.push(&r[c]);
                }
            }
            let one = moved == 1;
            format!(
                "{moved} unit{} recorded in more than one stratum {} counted in the stratum \
                 of {} {which} occasion, with all {} captures (--unit-stratum {which}; \
                 first: `{}`, recorded as {}, counted as `{}`)",
                plural(moved),
                if one { "is" } else { "are" },
                if one { "its" } else { "their" },
                if one { "its" } else { "their" },
                ids[k],
                named
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(" and "),
                raw.rows[self.pick[k]].1[c],
            )
        });
        let strata = self
            .pick
            .iter()
            .map(|&i| raw.rows[i].1[c].clone())
            .collect();
        Ok((strata, note))
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Identifiers that differ only in upper and lower case (`A12`, `a12`) are different
/// units to the reader: a matching slip that inflates N̂. Says so, with the first pair.
fn case_variants_note<'a>(ids: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut by_lower: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            continue;
        }
        match by_lower.entry(id.to_lowercase()) {
            std::collections::hash_map::Entry::Occupied(e) => pairs.push((e.get(), id)),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(id);
            }
        }
    }
    let (&(a, b), rest) = pairs.split_first()?;
    Some(format!(
        "identifiers `{a}` and `{b}`{} differ only in upper and lower case and are counted \
         as different units: if they are the same, correct the matching (a unit counted \
         twice raises the estimate)",
        if rest.is_empty() {
            String::new()
        } else {
            format!(" (and {} more such pair{})", rest.len(), plural(rest.len()))
        }
    ))
}

fn finish(
    raw: &Raw,
    t: usize,
    hist: Vec<u64>,
    freq: Vec<u64>,
    names: Vec<String>,
    ids: Option<Vec<String>>,
    strata: Option<Vec<String>>,
) -> Result<CaptureHistories> {
    let mut h = CaptureHistories::new(t, hist, freq).map_err(|e| Error::CsvFormat {
        at: raw.at(None, None),
        reason: e.to_string(),
    })?;
    h = h.with_occasion_names(names)?;
    if let Some(ids) = ids {
        h = h.with_ids(ids)?;
    }
    if let Some(s) = strata {
        h = h.with_strata(&s)?;
        if let Some(c) = raw.col("stratum") {
            h.order_strata(raw.rows.iter().map(|(_, r)| r[c].as_str()));
        }
    }
    Ok(h)
}

fn parse_long(
    raw: &Raw,
    opts: &ReadOptions,
) -> Result<(CaptureHistories, OccasionOrder, Vec<String>)> {
    let (Some(id_col), Some(occ_col)) = (raw.col("id"), raw.col("occasion")) else {
        return Err(Error::CsvFormat {
            at: raw.at(Some(1), None),
            reason: format!(
                "the long layout needs `id` and `occasion` columns (the columns are {}; \
                 name others with --id and --occasion)",
                raw.headers.join(", ")
            ),
        });
    };
    let stratum_col = raw.col("stratum");
    no_blank_stratum(raw, stratum_col)?;
    if let Some((line, r)) = raw.rows.iter().find(|(_, r)| r[occ_col].is_empty()) {
        return Err(raw.value_err(*line, occ_col, &r[occ_col], "an occasion label"));
    }
    let too_many = |n: usize| Error::CsvFormat {
        at: raw.at(None, Some(occ_col)),
        reason: format!("{n} distinct occasions: at most {MAX_OCCASIONS} are supported"),
    };
    // Occasions: as given; else whole numbers from the smallest to the largest (numeric
    // order, empty occasions between them kept); else other numbers in numeric order; else
    // dates in calendar order; else labels in order of first appearance.
    let whole: Option<Vec<u64>> = raw
        .rows
        .iter()
        .map(|(_, r)| r[occ_col].parse::<u64>().ok())
        .collect();
    let reals: Option<Vec<f64>> = raw
        .rows
        .iter()
        .map(|(_, r)| r[occ_col].parse::<f64>().ok().filter(|v| v.is_finite()))
        .collect();
    let mut notes = Vec::new();
    let (names, index, how): (Vec<String>, Vec<usize>, OccasionOrder) = if let Some(given) =
        &opts.occasion_order
    {
        if opts.occasion_period.is_some() {
            return Err(Error::param(
                "occasion_period",
                "given beside occasion_order",
                "one of the two: the order of the labels, or periods that group dates",
            ));
        }
        let mut names: Vec<String> = Vec::new();
        for g in given {
            if names.contains(g) {
                return Err(Error::param(
                    "occasion_order",
                    g,
                    "each occasion label once",
                ));
            }
            names.push(g.clone());
        }
        if names.len() > MAX_OCCASIONS {
            return Err(too_many(names.len()));
        }
        let mut idx = Vec::with_capacity(raw.rows.len());
        for (line, r) in &raw.rows {
            match names.iter().position(|n| *n == r[occ_col]) {
                Some(j) => idx.push(j),
                None => {
                    return Err(raw.value_err(
                        *line,
                        occ_col,
                        &r[occ_col],
                        &format!("one of the occasions given: {}", names.join(", ")),
                    ));
                }
            }
        }
        (names, idx, OccasionOrder::Given)
    } else if let (Some(p), true) = (opts.occasion_period, whole.is_some() || reals.is_some()) {
        let (line, r) = &raw.rows[0];
        return Err(raw.value_err(
            *line,
            occ_col,
            &r[occ_col],
            &format!(
                "a date (--occasion-period {} groups dates; these labels are numbers, each \
                 already an occasion)",
                p.name()
            ),
        ));
    } else if let Some(v) = whole {
        let lo = v.iter().copied().min().unwrap_or(1);
        let hi = v.iter().copied().max().unwrap_or(1);
        if hi - lo >= MAX_OCCASIONS as u64 {
            let (line, _) = &raw.rows[v.iter().position(|&x| x == hi).unwrap_or(0)];
            return Err(raw.value_err(
                *line,
                occ_col,
                &hi.to_string(),
                &format!(
                    "an occasion number from {lo} to {}: at most {MAX_OCCASIONS} occasions are supported",
                    lo + MAX_OCCASIONS as u64 - 1
                ),
            ));
        }
        (
            (lo..=hi).map(|j| format!("occasion {j}")).collect(),
            v.iter().map(|&x| (x - lo) as usize).collect(),
            OccasionOrder::Numeric,
        )
    } else if let Some(v) = reals {
        let mut distinct: Vec<(f64, String)> = Vec::new();
        for ((_, r), &x) in raw.rows.iter().zip(&v) {
            if !distinct.iter().any(|(y, _)| *y == x) {
                distinct.push((x, r[occ_col].clone()));
            }
        }
        distinct.sort_by(|a, b| a.0.total_cmp(&b.0));
        if distinct.len() > MAX_OCCASIONS {
            return Err(too_many(distinct.len()));
        }
        let idx = v
            .iter()
            .map(|x| distinct.iter().position(|(y, _)| y == x).unwrap_or(0))
            .collect();
        (
            distinct.into_iter().map(|(_, l)| l).collect(),
            idx,
            OccasionOrder::Numeric,
        )
    } else {
        // distinct labels in order of first appearance (any number: dates may be many,
        // and group into fewer periods)
        let mut labels: Vec<&str> = Vec::new();
        let mut at: std::collections::HashMap<&str, usize> = Default::default();
        let mut idx = Vec::with_capacity(raw.rows.len());
        for (_, r) in &raw.rows {
            let l = r[occ_col].as_str();
            let j = *at.entry(l).or_insert_with(|| {
                labels.push(l);
                labels.len() - 1
            });
            idx.push(j);
        }
        let dates = read_dates(&labels);
        let labels: Vec<String> = labels.into_iter().map(str::to_string).collect();
        match (&dates, opts.occasion_period) {
            (DateLabels::Dates(_), _) => {}
            (_, Some(p)) => {
                let (line, r) = raw
                    .rows
                    .iter()
                    .find(|(_, r)| read_dates(&[r[occ_col].as_str()]) == DateLabels::NotDates)
                    .unwrap_or(&raw.rows[0]);
                return Err(raw.value_err(
                    *line,
                    occ_col,
                    &r[occ_col],
                    &format!(
                        "a date such as 2024-03-01 or 01/03/2024 (--occasion-period {} groups \
                         dates into periods){}",
                        p.name(),
                        if dates == DateLabels::Ambiguous {
                            "; the labels are dates with the day and the month both 12 or \
                             less, read day first and month first in different orders"
                        } else {
                            ""
                        }
                    ),
                ));
            }
            _ if labels.len() > MAX_OCCASIONS => return Err(too_many(labels.len())),
            _ => {}
        }
        match dates {
            DateLabels::Dates(when)
                if opts.occasion_period.is_some() || when.len() > MAX_OCCASIONS =>
            {
                group_dates(
                    raw,
                    occ_col,
                    &labels,
                    &when,
                    idx,
                    opts.occasion_period,
                    &mut notes,
                )?
            }
            DateLabels::Dates(when) => {
                // Calendar order; labels naming the same time (`2024-1-5`, `2024-01-05`)
                // are one occasion, named by the first.
                let mut keys = when.clone();
                keys.sort_unstable();
                keys.dedup();
                let mut names = vec![String::new(); keys.len()];
                let mut to: Vec<usize> = Vec::with_capacity(labels.len());
                for (l, w) in labels.iter().zip(&when) {
                    let k = keys.binary_search(w).unwrap_or(0);
                    if names[k].is_empty() {
                        names[k] = l.clone();
                    }
                    to.push(k);
                }
                let idx = idx.iter().map(|&j| to[j]).collect();
                (names, idx, OccasionOrder::Chronological)
            }
            DateLabels::Ambiguous => (labels, idx, OccasionOrder::AmbiguousDates),
            DateLabels::NotDates => (labels, idx, OccasionOrder::FirstAppearance),
        }
    };
    let mut order: Vec<String> = Vec::new();
    // Under `each`, a unit is an identifier in one stratum (its first row's, kept in
    // `first_row`).
    let each = stratum_col.filter(|_| opts.unit_stratum == UnitStratum::Each);
    let mut pos: std::collections::HashMap<(&str, &str), usize> = Default::default();
    let mut first_row: Vec<usize> = Vec::new();
    let mut hist: Vec<u64> = Vec::new();
    let mut pick = stratum_col
        .filter(|_| each.is_none())
        .map(|c| StratumPick::new(opts.unit_stratum, c, id_col));
    let mut repeats: Option<(usize, usize)> = None; // (first repeated row, count)
    for (i, ((line, r), &j)) in raw.rows.iter().zip(&index).enumerate() {
        let id = r[id_col].as_str();
        if id.is_empty() {
            return Err(raw.value_err(*line, id_col, id, "a unit identifier"));
        }
        let key = (id, each.map_or("", |c| r[c].as_str()));
        let k = match pos.get(&key) {
            Some(&k) => {
                if let Some(p) = pick.as_mut() {
                    p.row(raw, k, i, 1 << j)?;
                }
                k
            }
            None => {
                pos.insert(key, order.len());
                order.push(id.to_string());
                first_row.push(i);
                hist.push(0);
                if let Some(p) = pick.as_mut() {
                    p.unit(i, 1 << j);
                }
                order.len() - 1
            }
        };
        if hist[k] >> j & 1 == 1 {
            repeats.get_or_insert((i, 0)).1 += 1;
        }
        hist[k] |= 1 << j;
    }
    // (grouped dates say themselves that repeats within a period count once)
    if let Some((i, count)) = repeats.filter(|_| opts.occasion_period.is_none()) {
        let (line, r) = &raw.rows[i];
        let one = count == 1;
        notes.push(format!(
            "{count} record{} repeat{} an identifier on the same occasion (first: `{}` on \
             `{}`, line {line}) and count{} once: a unit is either seen on an occasion or not",
            plural(count),
            if one { "s" } else { "" },
            r[id_col],
            r[occ_col],
            if one { "s" } else { "" },
        ));
    }
    let strata = match pick {
        Some(p) => {
            // occasions named as the file writes them (`1`, not `occasion 1`)
            let mut labels = vec![String::new(); names.len()];
            for ((_, r), &j) in raw.rows.iter().zip(&index) {
                if labels[j].is_empty() {
                    labels[j].clone_from(&r[occ_col]);
                }
            }
            let (strata, note) = p.strata(raw, &order, &labels)?;
            notes.extend(note);
            Some(strata)
        }
        None => each.map(|c| {
            let strata: Vec<String> = first_row
                .iter()
                .map(|&i| raw.rows[i].1[c].clone())
                .collect();
            notes.extend(each_stratum_note(&order, &strata));
            strata
        }),
    };
    let n = hist.len();
    let h = finish(
        raw,
        names.len(),
        hist,
        vec![1; n],
        names,
        Some(order),
        strata,
    )?;
    Ok((h, how, notes))
}

/// Dated occasion labels in calendar order, grouped into `period`s when one is given (each
/// distinct time an occasion otherwise): the occasion names, each record's occasion, and a
/// note on the grouping. More than [`MAX_OCCASIONS`] occasions are refused, naming the
/// periods that would give few enough.
fn group_dates(
    raw: &Raw,
    occ_col: usize,
    labels: &[String],
    when: &[When],
    idx: Vec<usize>,
    period: Option<OccasionPeriod>,
    notes: &mut Vec<String>,
) -> Result<(Vec<String>, Vec<usize>, OccasionOrder)> {
    let per_label: Vec<(u64, String)> = match period {
        Some(p) => {
            let mut out = Vec::with_capacity(labels.len());
            for (w, l) in when.iter().zip(labels) {
                let Some((k, name)) = w.period(p) else {
                    let (line, r) = raw
                        .rows
                        .iter()
                        .find(|(_, r)| r[occ_col] == *l)
                        .unwrap_or(&raw.rows[0]);
                    return Err(raw.value_err(
                        *line,
                        occ_col,
                        &r[occ_col],
                        &format!(
                            "a date with its day (--occasion-period {} needs the day; this \
                             label gives the month only)",
                            p.name()
                        ),
                    ));
                };
                out.push((u64::from(k), name));
            }
            out
        }
        None => {
            let mut times = when.to_vec();
            times.sort_unstable();
            times.dedup();
            when.iter()
                .zip(labels)
                .map(|(w, l)| (times.binary_search(w).unwrap_or(0) as u64, l.clone()))
                .collect()
        }
    };
    let mut keys: Vec<u64> = per_label.iter().map(|x| x.0).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut names = vec![String::new(); keys.len()];
    let mut to = Vec::with_capacity(labels.len());
    for (k, name) in &per_label {
        let j = keys.binary_search(k).unwrap_or(0);
        if names[j].is_empty() {
            names[j].clone_from(name);
        }
        to.push(j);
    }
    let range = format!(
        "{} to {}",
        names.first().map_or("", String::as_str),
        names.last().map_or("", String::as_str)
    );
    if keys.len() > MAX_OCCASIONS {
        let fewer: Vec<String> = OccasionPeriod::ALL
            .into_iter()
            .filter(|&p| period.is_none_or(|q| p > q))
            .filter_map(|p| {
                let mut k: Vec<u32> = when
                    .iter()
                    .map(|w| w.period(p).map(|x| x.0))
                    .collect::<Option<_>>()?;
                k.sort_unstable();
                k.dedup();
                (2..=MAX_OCCASIONS)
                    .contains(&k.len())
                    .then(|| format!("{} ({} occasions)", p.name(), k.len()))
            })
            .collect();
        let what = match period {
            Some(p) => format!("{} {}s", keys.len(), p.name()),
            None => format!("{} distinct dates", keys.len()),
        };
        return Err(Error::CsvFormat {
            at: raw.at(None, Some(occ_col)),
            reason: format!(
                "{what} ({range}): at most {MAX_OCCASIONS} occasions are supported{}",
                if fewer.is_empty() {
                    String::new()
                } else {
                    format!(
                        "; group the dates into {}periods with --occasion-period: {}",
                        if period.is_some() { "longer " } else { "" },
                        fewer.join(", ")
                    )
                }
            ),
        });
    }
    if let Some(p) = period {
        notes.push(format!(
            "dates grouped by {}: {} distinct date{} into {} occasion{} ({range}); a unit \
             recorded more than once in a {} is seen once on it",
            p.name(),
            labels.len(),
            plural(labels.len()),
            keys.len(),
            plural(keys.len()),
            p.name()
        ));
    }
    let idx = idx.iter().map(|&j| to[j]).collect();
    Ok((names, idx, OccasionOrder::Chronological))
}

/// The number of occasions of the `history` column: the most common length (the longer
/// on a tie). Histories of 0s and 1s whose shorter ones all start with 1 are refused at the
/// first short one: a spreadsheet that took the column for numbers dropped their leading
/// zeros (`0101` → `101`), and padding them back would be a guess.
fn history_length(raw: &Raw, hcol: usize) -> Result<usize> {
    let mut by_len: std::collections::BTreeMap<usize, usize> = Default::default();
    for (_, r) in &raw.rows {
        *by_len.entry(r[hcol].trim().len()).or_default() += 1;
    }
    let (&longest, _) = by_len.last_key_value().unwrap_or((&0, &0));
    let t = by_len
        .iter()
        .max_by_key(|&(len, n)| (*n, *len))
        .map_or(0, |(&len, _)| len);
    if by_len.len() > 1 {
        let binary = |h: &str| !h.is_empty() && h.bytes().all(|b| b == b'0' || b == b'1');
        let lost_zeros = raw.rows.iter().all(|(_, r)| {
            let h = r[hcol].trim();
            binary(h) && (h.len() == longest || h.starts_with('1'))
        });
        if lost_zeros
            && let Some((line, r)) = raw
                .rows
                .iter()
                .find(|(_, r)| r[hcol].trim().len() < longest)
        {
            return Err(raw.value_err(
                *line,
                hcol,
                &r[hcol],
                &format!(
                    "a 0/1 history of {longest} occasions, as the longest are (a spreadsheet \
                     that read the column as numbers drops leading zeros, 0101 → 101: store \
                     the column as text, or write every history in full)"
                ),
            ));
        }
    }
    Ok(t)
}

fn parse_aggregated(raw: &Raw, opts: &ReadOptions) -> Result<CaptureHistories> {
    let hcol = raw.col("history").ok_or_else(|| Error::CsvFormat {
        at: raw.at(Some(1), None),
        reason: "the aggregated layout needs a `history` column".into(),
    })?;
    check_named_freq(raw, opts)?;
    let freq_col = match &opts.freq_column {
        Some(n) => raw.col(n),
        None => FREQ_NAMES.iter().find_map(|n| raw.col(n)),
    };
    let stratum_col = raw.col("stratum");
    no_blank_stratum(raw, stratum_col)?;
    let first = &raw.rows[0];
    let t = history_length(raw, hcol)?;
    if t == 0 {
        return Err(raw.value_err(first.0, hcol, "", "a history such as 0110"));
    }
    if t > MAX_OCCASIONS {
        return Err(Error::CsvFormat {
            at: raw.at(Some(first.0), Some(hcol)),
            reason: format!("history of {t} occasions: at most {MAX_OCCASIONS} are supported"),
        });
    }
    let mut hist = Vec::new();
    let mut freq = Vec::new();
    let mut strata = Vec::new();
    let mut total = 0u64;
    for (line, r) in &raw.rows {
        let code = parse_history(&r[hcol], t).map_err(|why| {
            raw.value_err(
                *line,
                hcol,
                &r[hcol],
                &format!("a 0/1 history of {t} occasions ({why})"),
            )
        })?;
        let f = match freq_col {
            Some(c) => parse_freq(raw, *line, c, &r[c])?,
            None => 1,
        };
        add_freq(raw, &mut total, f, *line, freq_col)?;
        if code == 0 && f > 0 {
            return Err(raw.value_err(
                *line,
                hcol,
                &r[hcol],
                "a unit that was seen: an all-zero history (never seen) cannot have a positive frequency",
            ));
        }
        hist.push(code);
        freq.push(f);
        if let Some(c) = stratum_col {
            strata.push(r[c].clone());
        }
    }
    finish(
        raw,
        t,
        hist,
        freq,
        super::histories::default_occasion_names(t),
        None,
        stratum_col.map(|_| strata),
    )
}

fn parse_counts(raw: &Raw, opts: &ReadOptions) -> Result<(CountData, String)> {
    let ccol = match &opts.count_column {
        Some(n) => raw.col(n).ok_or_else(|| Error::CsvFormat {
            at: raw.at(Some(1), None),
            reason: format!("no column named `{n}` for the counts"),
        })?,
        None => raw
            .col("count")
            .or_else(|| raw.col("nbcap"))
            .or_else(|| sole_count_column(raw, opts))
            .ok_or_else(|| Error::CsvFormat {
                at: raw.at(Some(1), None),
                reason: "no `count` column: name the column of counts".into(),
            })?,
    };
    check_named_freq(raw, opts)?;
    // The same frequency names as the other layouts (`count` aside, which names the
    // counts here).
    let fcol = match &opts.freq_column {
        Some(n) => raw.col(n),
        None => FREQ_NAMES
            .iter()
            .find_map(|n| raw.col(n).filter(|&c| c != ccol)),
    }
    .filter(|&c| c != ccol);
    let mut counts = Vec::with_capacity(raw.rows.len());
    let mut freq = Vec::with_capacity(raw.rows.len());
    let mut total = 0u64;
    for (line, r) in &raw.rows {
        let c = raw.parse_u64(
            *line,
            ccol,
            &r[ccol],
            "a count: a whole number of at least 1",
        )?;
        if c > crate::data::MAX_COUNT {
            return Err(raw.value_err(
                *line,
                ccol,
                &r[ccol],
                &format!(
                    "a count of at most {} (a unit recorded more often than that is a data error, \
                     or not a count of records)",
                    crate::data::MAX_COUNT
                ),
            ));
        }
        let f = match fcol {
            Some(fc) => parse_freq(raw, *line, fc, &r[fc])?,
            None => 1,
        };
        add_freq(raw, &mut total, f, *line, fcol)?;
        if c == 0 && f > 0 {
            return Err(raw.value_err(
                *line,
                ccol,
                &r[ccol],
                "a count of at least 1: units never recorded are not in single-source data",
            ));
        }
        counts.push(c);
        freq.push(f);
    }
    let mut data = CountData::with_frequencies(counts, freq).map_err(|e| Error::CsvFormat {
        at: raw.at(None, None),
        reason: e.to_string(),
    })?;
    let cov_cols: Vec<usize> = match &opts.covariates {
        Some(names) => names
            .iter()
            .map(|n| {
                raw.col(n).ok_or_else(|| Error::CsvFormat {
                    at: raw.at(Some(1), None),
                    reason: format!("no covariate column named `{n}`"),
                })
            })
            .collect::<Result<_>>()?,
        // an identifier is not a trait of the person: named, it is a covariate like any
        // other column, but it is not one by default
        None => (0..raw.headers.len())
            .filter(|&c| c != ccol && Some(c) != fcol && Some(c) != raw.col("id"))
            .collect(),
    };
    for c in cov_cols {
        let vals: Vec<&str> = raw.rows.iter().map(|(_, r)| r[c].as_str()).collect();
        if let Some(i) = vals.iter().position(|v| v.is_empty()) {
            return Err(raw.value_err(
                raw.rows[i].0,
                c,
                "",
                "a value (missing values are not supported)",
            ));
        }
        let nums: Option<Vec<f64>> = vals.iter().map(|v| v.parse::<f64>().ok()).collect();
        // A numeric column with missing-value codes (`NA`, `.`...) must not turn into a
        // categorical covariate with one level per distinct number.
        if nums.is_none()
            && let Some(i) = vals.iter().position(|v| is_missing_code(v))
            && vals
                .iter()
                .all(|v| is_missing_code(v) || v.parse::<f64>().is_ok())
        {
            return Err(raw.value_err(
                raw.rows[i].0,
                c,
                vals[i],
                "a number (the other values of this column are numbers; missing values are not \
                 supported: drop the row, or the column with --covariates)",
            ));
        }
        let values = match nums {
            Some(v) => {
                if let Some(i) = v.iter().position(|x| !x.is_finite()) {
                    return Err(raw.value_err(raw.rows[i].0, c, vals[i], "a finite number"));
                }
                CovariateValues::Numeric(v)
            }
            None => CovariateValues::categorical(&vals),
        };
        data = data.with_covariate(raw.headers[c].clone(), values)?;
    }
    Ok((data, raw.headers[ccol].clone()))
}

fn is_missing_code(v: &str) -> bool {
    ["na", "nan", "n/a", ".", "null", "none", "-", "?"]
        .iter()
        .any(|m| v.eq_ignore_ascii_case(m))
}

fn io_err(e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: "<writer>".into(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Writes histories in the wide layout: one 0/1 column per occasion (named as the
/// occasions), then `id` and `stratum` when present, then `freq`.
///
/// # Errors
/// [`Error::Io`] when writing fails.
pub fn write_wide<W: Write>(h: &CaptureHistories, w: W) -> Result<()> {
    let mut wr = csv::Writer::from_writer(w);
    let mut header: Vec<String> = h.occasion_names().to_vec();
    if h.ids().is_some() {
        header.push("id".into());
    }
    if h.strata().is_some() {
        header.push("stratum".into());
    }
    header.push("freq".into());
    wr.write_record(&header).map_err(io_err)?;
    for i in 0..h.n_rows() {
        let mut rec: Vec<String> = (0..h.occasions())
            .map(|j| if h.caught(i, j) { "1" } else { "0" }.to_string())
            .collect();
        if let Some(ids) = h.ids() {
            rec.push(ids[i].clone());
        }
        if let Some(s) = h.strata() {
            rec.push(s.names[s.codes[i] as usize].clone());
        }
        rec.push(h.frequencies()[i].to_string());
        wr.write_record(&rec).map_err(io_err)?;
    }
    wr.flush().map_err(io_err)
}

/// Writes histories in the aggregated layout: `history,freq[,stratum]`.
///
/// # Errors
/// [`Error::Io`] when writing fails.
pub fn write_aggregated<W: Write>(h: &CaptureHistories, w: W) -> Result<()> {
    let mut wr = csv::Writer::from_writer(w);
    let strat = h.strata().is_some();
    let mut header = vec!["history", "freq"];
    if strat {
        header.push("stratum");
    }
    wr.write_record(&header).map_err(io_err)?;
    for (i, (code, f)) in h.iter().enumerate() {
        let mut rec = vec![history_string(code, h.occasions()), f.to_string()];
        if let Some(s) = h.strata() {
            rec.push(s.names[s.codes[i] as usize].clone());
        }
        wr.write_record(&rec).map_err(io_err)?;
    }
    wr.flush().map_err(io_err)
}

/// Writes histories in the long layout, one row per capture: `id,occasion[,stratum]`
/// with occasions numbered from 1. A row of frequency f becomes f units; units without
/// an identifier are named `u1`, `u2`...
///
/// # Errors
/// [`Error::Io`] when writing fails.
pub fn write_long<W: Write>(h: &CaptureHistories, w: W) -> Result<()> {
    let mut wr = csv::Writer::from_writer(w);
    let strat = h.strata().is_some();
    let mut header = vec!["id", "occasion"];
    if strat {
        header.push("stratum");
    }
    wr.write_record(&header).map_err(io_err)?;
    let mut next = 0u64;
    for i in 0..h.n_rows() {
        for k in 0..h.frequencies()[i] {
            let id = match h.ids() {
                Some(ids) if h.frequencies()[i] == 1 => ids[i].clone(),
                Some(ids) => format!("{}.{}", ids[i], k + 1),
                None => {
                    next += 1;
                    format!("u{next}")
                }
            };
            for j in 0..h.occasions() {
                if h.caught(i, j) {
                    let mut rec = vec![id.clone(), (j + 1).to_string()];
                    if let Some(s) = h.strata() {
                        rec.push(s.names[s.codes[i] as usize].clone());
                    }
                    wr.write_record(&rec).map_err(io_err)?;
                }
            }
        }
    }
    wr.flush().map_err(io_err)
}

/// Writes counts: `count,freq` then the covariates.
///
/// # Errors
/// [`Error::Io`] when writing fails.
pub fn write_counts<W: Write>(d: &CountData, w: W) -> Result<()> {
    let mut wr = csv::Writer::from_writer(w);
    let mut header = vec!["count".to_string(), "freq".to_string()];
    header.extend(d.covariates().iter().map(|c| c.name.clone()));
    wr.write_record(&header).map_err(io_err)?;
    for i in 0..d.n_rows() {
        let mut rec = vec![d.counts()[i].to_string(), d.frequencies()[i].to_string()];
        for c in d.covariates() {
            rec.push(match &c.values {
                CovariateValues::Numeric(v) => format!("{:?}", v[i]),
                CovariateValues::Categorical { levels, codes } => levels[codes[i] as usize].clone(),
            });
        }
        wr.write_record(&rec).map_err(io_err)?;
    }
    wr.flush().map_err(io_err)
}
