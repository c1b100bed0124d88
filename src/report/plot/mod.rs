//! SVG figures for reports, drawn with [`plotters`]' SVG backend (text is emitted as SVG
//! `<text>` elements, so no font library is needed to draw and any browser renders it).
//!
//! Every function takes plain numbers and returns one SVG document as a `String`, so a Rust
//! user can put the same figures in a report of their own:
//!
//! - [`forest`]: every candidate's N̂ and interval, the headline as a band, the number
//!   seen (and a known truth) as vertical lines;
//! - [`frequencies`]: observed f_k (units seen k times) against each model's fitted values,
//!   on a log scale (the heterogeneity diagnostic of `Rcapture::plot.closedp`);
//! - [`rootogram`]: a hanging rootogram of a count model (Kleiber & Zeileis 2016;
//!   `singleRcapture`'s `rootogram`);
//! - [`profile`]: the profile log-likelihood of N with its interval (`Rcapture::closedpCI.t`'s
//!   `plotCI`);
//! - [`periods`]: one figure per period with its interval (open populations: N̂, survival,
//!   births);
//! - [`dot_plot`]: values with error bars and a reference line (simulation bias and
//!   coverage with Monte-Carlo error bars).
//!
//! Figures are 720 pixels wide (an A4 page at 96 dpi less its margins) and scale down
//! with the page. Non-finite inputs are left out of a figure (and said so in its caption
//! by the report), never drawn at a made-up position.
//!
//! # Errors
//! Every function returns [`Error::InvalidData`] when there is nothing finite to draw, and
//! [`Error::Numerical`] if the drawing backend fails (it writes to a `String`, so it does not
//! in practice).

pub use super::common::group_thousands;
use crate::error::{Error, Result};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of every figure, in pixels.
pub const WIDTH: u32 = 720;
const FONT: &str = "sans-serif";

/// Colour of the intervals of candidates that take part in the headline or are plausible.
pub const INTERVAL_COLOUR: RGBColor = RGBColor(0x1f, 0x4e, 0x79);
/// Colour of the intervals of candidates excluded from the headline.
pub const EXCLUDED_COLOUR: RGBColor = RGBColor(0x99, 0x99, 0x99);
const BAND: RGBColor = RGBColor(0xf4, 0xa2, 0x61);
const HEADLINE: RGBColor = RGBColor(0xc0, 0x39, 0x2b);
const SEEN: RGBColor = RGBColor(0x22, 0x22, 0x22);
const TRUTH: RGBColor = RGBColor(0x1b, 0x9e, 0x77);
const PALETTE: [RGBColor; 6] = [
    RGBColor(0xd9, 0x5f, 0x02),
    RGBColor(0x1b, 0x9e, 0x77),
    RGBColor(0x75, 0x70, 0xb3),
    RGBColor(0xe7, 0x29, 0x8a),
    RGBColor(0x66, 0xa6, 0x1e),
    RGBColor(0xa6, 0x76, 0x1d),
];

fn draw_err<E: std::fmt::Debug>(e: E) -> Error {
    Error::Numerical {
        reason: format!("drawing the figure failed: {e:?}"),
    }
}

fn nothing(what: &str) -> Error {
    Error::InvalidData {
        row: None,
        reason: format!("nothing finite to draw in the {what}"),
    }
}

/// Formats an axis number with thousands separators (`12,345`), or with up to two
/// decimals below 10.
pub fn axis_number(x: f64) -> String {
    if !x.is_finite() {
        return String::new();
    }
    if x.abs() < 10.0 && x.fract() != 0.0 {
        let s = format!("{x:.2}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        return s.to_string();
    }
    if x.abs() >= super::common::LARGE {
        return format!("{x:.1e}");
    }
    group_thousands(x.round() as i64)
}

fn text_style(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().color(&BLACK)
}

fn finish(mut buf: String) -> String {
    // The SVG backend writes the document; make it scale with the page.
    if let Some(end) = buf.find('>') {
        let head = &buf[..end];
        if head.starts_with("<svg") && !head.contains("role=") {
            buf.insert_str(end, " role=\"img\"");
        }
    }
    buf
}

fn nice_range(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        let d = lo.abs().max(1.0) * 0.1;
        (lo - d, hi + d)
    };
    let w = hi - lo;
    (lo - pad * w, hi + pad * w)
}

/// One row of a [`forest`] plot.
#[derive(Debug, Clone, PartialEq)]
pub struct ForestRow {
    /// Label printed at the left (model name).
    pub label: String,
    /// Point estimate N̂.
    pub n_hat: f64,
    /// Lower interval limit.
    pub lower: f64,
    /// Upper interval limit (may be infinite: drawn to the edge with an arrow).
    pub upper: f64,
    /// Weight in the headline, 0 to 1 (sets the size of the dot).
    pub weight: f64,
    /// Excluded from the headline (drawn in grey).
    pub excluded: bool,
}

/// The headline drawn across a [`forest`] plot as a band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    /// The headline N̂.
    pub n_hat: f64,
    /// Lower limit of its interval.
    pub lower: f64,
    /// Upper limit of its interval.
    pub upper: f64,
}

/// Forest plot: every candidate's N̂ (dot, sized by its weight) and interval (one
/// horizontal line each, drawn in [`INTERVAL_COLOUR`], or [`EXCLUDED_COLOUR`] for excluded
/// candidates), the headline interval as a shaded band with its N̂ as a red line, the
/// number seen as a black vertical line and a known truth, if given, as a green one.
///
/// Rows whose N̂ is not finite are left out. Intervals reaching beyond the axis (more than
/// four times the headline's upper limit, or unbounded) end in an arrow at the edge.
///
/// # Errors
/// [`Error::InvalidData`] when no row has a finite N̂.
///
/// # Examples
/// ```
/// use darkfigure::report::plot::{forest, ForestRow, Band};
/// let rows = vec![
///     ForestRow { label: "M0".into(), n_hat: 70.0, lower: 66.0, upper: 77.0, weight: 0.0, excluded: false },
///     ForestRow { label: "Mh Chao (LB)".into(), n_hat: 78.0, lower: 70.0, upper: 97.0, weight: 1.0, excluded: false },
/// ];
/// let band = Band { n_hat: 78.0, lower: 70.0, upper: 97.0 };
/// let svg = forest("Hares", &rows, Some(band), 68.0, None)?;
/// assert!(svg.starts_with("<svg") && svg.contains("Mh Chao (LB)"));
/// # Ok::<(), darkfigure::Error>(())
/// ```
pub fn forest(
    title: &str,
    rows: &[ForestRow],
    headline: Option<Band>,
    observed: f64,
    truth: Option<f64>,
) -> Result<String> {
    let rows: Vec<&ForestRow> = rows.iter().filter(|r| r.n_hat.is_finite()).collect();
    if rows.is_empty() {
        return Err(nothing("forest plot"));
    }
    let n = rows.len();
    let mut lo = observed;
    let mut hi = f64::NEG_INFINITY;
    for r in &rows {
        lo = lo.min(r.n_hat);
        if r.lower.is_finite() {
            lo = lo.min(r.lower);
        }
        hi = hi.max(r.n_hat);
        if r.upper.is_finite() {
            hi = hi.max(r.upper);
        }
    }
    if let Some(b) = headline {
        lo = lo.min(b.lower);
        hi = hi.max(b.upper);
    }
    if let Some(t) = truth {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    // Keep the headline readable: an interval far beyond it is cut at the edge.
    let reference = headline
        .map(|b| b.upper)
        .unwrap_or_else(|| {
            let mut v: Vec<f64> = rows.iter().map(|r| r.n_hat).collect();
            v.sort_by(f64::total_cmp);
            v[v.len() / 2] * 1.5
        })
        .max(observed);
    let cap = (4.0 * reference).max(rows.iter().map(|r| r.n_hat).fold(0.0, f64::max) * 1.05);
    let hi = hi.min(cap);
    let (lo, hi) = nice_range(lo.max(0.0), hi, 0.04);
    let lo = lo.max(0.0);

    // Room above the rows for the legend.
    let legend_rows = 2.0 + f64::from(u8::from(headline.is_some())) * 1.2;
    let top = n as f64 - 0.3 + legend_rows;
    let height = 110 + 22 * n as u32 + (22.0 * legend_rows) as u32;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let left = 190;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(10)
            .margin_left(left)
            .x_label_area_size(42)
            .y_label_area_size(0)
            .build_cartesian_2d(lo..hi, -0.7..top)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_labels(8)
            .x_label_formatter(&|v| axis_number(*v))
            .x_desc("Estimated population size, with interval")
            .label_style(text_style(12))
            .axis_desc_style(text_style(13))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(draw_err)?;
        let (y0, y1) = (-0.7, n as f64 - 0.3);
        if let Some(b) = headline {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(b.lower.max(lo), y0), (b.upper.min(hi), y1)],
                    BAND.mix(0.25).filled(),
                )))
                .map_err(draw_err)?
                .label("headline interval")
                .legend(|(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], BAND.mix(0.4).filled())
                });
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(b.n_hat, y0), (b.n_hat, y1)],
                    HEADLINE.stroke_width(2),
                )))
                .map_err(draw_err)?
                .label("headline N̂")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], HEADLINE.stroke_width(2))
                });
        }
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(observed, y0), (observed, y1)],
                SEEN.stroke_width(1),
            )))
            .map_err(draw_err)?
            .label(format!("number seen ({})", axis_number(observed)))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], SEEN.stroke_width(1)));
        if let Some(t) = truth {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(t, y0), (t, y1)],
                    TRUTH.stroke_width(2),
                )))
                .map_err(draw_err)?
                .label(format!("true size ({})", axis_number(t)))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], TRUTH.stroke_width(2))
                });
        }
        for (i, r) in rows.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let colour = if r.excluded {
                EXCLUDED_COLOUR
            } else {
                INTERVAL_COLOUR
            };
            let a = if r.lower.is_finite() {
                r.lower
            } else {
                r.n_hat
            }
            .clamp(lo, hi);
            let cut = !(r.upper.is_finite() && r.upper <= hi);
            let b = if r.upper.is_finite() { r.upper } else { hi }.clamp(lo, hi);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(a, y), (b, y)],
                    colour.stroke_width(2),
                )))
                .map_err(draw_err)?;
            if cut {
                let (px, py) = chart.backend_coord(&(hi, y));
                root.draw(&Polygon::new(
                    vec![(px, py - 5), (px + 8, py), (px, py + 5)],
                    colour.filled(),
                ))
                .map_err(draw_err)?;
            }
            if r.n_hat <= hi {
                let size = 3.0 + 4.0 * r.weight.clamp(0.0, 1.0);
                chart
                    .draw_series(std::iter::once(Circle::new(
                        (r.n_hat, y),
                        size.round() as i32,
                        colour.filled(),
                    )))
                    .map_err(draw_err)?;
            }
            let (px, py) = chart.backend_coord(&(lo, y));
            let style = text_style(12).pos(Pos::new(HPos::Right, VPos::Center));
            let style = if r.weight >= 0.01 {
                style.color(&HEADLINE)
            } else if r.excluded {
                style.color(&EXCLUDED_COLOUR)
            } else {
                style
            };
            let label = if r.excluded {
                format!("{} (excluded)", r.label)
            } else {
                r.label.clone()
            };
            root.draw(&Text::new(label, (px - 8, py), style))
                .map_err(draw_err)?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(buf))
}

/// One model's fitted frequencies for [`frequencies`].
#[derive(Debug, Clone, PartialEq)]
pub struct FittedSeries {
    /// Model label for the legend.
    pub label: String,
    /// `values[k - 1]`: the fitted number of units seen k times.
    pub values: Vec<f64>,
}

/// The f_k diagnostic: `observed[k − 1]` (units seen exactly k times; black dots) against
/// each model's fitted values (coloured lines), on a log scale. Under homogeneity (M0) the
/// points fall on a smooth curve; a convex, "hockey-stick" pattern with too many units seen
/// once and many seen often is the signature of heterogeneous capture probabilities
/// (Rivest & Baillargeon 2007; `Rcapture::plot.closedp` plots the residuals of the same
/// fits against k).
///
/// Zero frequencies are not drawn (a log scale has no zero).
///
/// # Errors
/// [`Error::InvalidData`] when every frequency is zero.
pub fn frequencies(title: &str, observed: &[u64], fitted: &[FittedSeries]) -> Result<String> {
    let kmax = observed
        .len()
        .max(fitted.iter().map(|f| f.values.len()).max().unwrap_or(0));
    let mut vals: Vec<f64> = observed
        .iter()
        .filter(|&&v| v > 0)
        .map(|&v| v as f64)
        .collect();
    if vals.is_empty() {
        return Err(nothing("frequency plot"));
    }
    for f in fitted {
        vals.extend(f.values.iter().filter(|v| v.is_finite() && **v >= 0.01));
    }
    let ymin = vals.iter().copied().fold(f64::INFINITY, f64::min).max(0.01) / 1.6;
    let ymax = vals.iter().copied().fold(0.0, f64::max) * 1.6;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let kmax_i = kmax as i32;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(70)
            .build_cartesian_2d(0i32..kmax_i + 1, (ymin..ymax).log_scale())
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_labels(kmax.min(20) + 2)
            .x_label_formatter(&|k| {
                if *k >= 1 && *k <= kmax_i {
                    k.to_string()
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| axis_number(*v))
            .x_desc("Number of times seen (k)")
            .y_desc("Individuals seen k times (log scale)")
            .label_style(text_style(12))
            .axis_desc_style(text_style(13))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(draw_err)?;
        for (i, f) in fitted.iter().enumerate() {
            let colour = PALETTE[i % PALETTE.len()];
            let pts: Vec<(i32, f64)> = f
                .values
                .iter()
                .enumerate()
                .filter(|(_, v)| v.is_finite() && **v >= ymin)
                .map(|(k, &v)| (k as i32 + 1, v))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), colour.stroke_width(2)))
                .map_err(draw_err)?
                .label(f.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
            chart
                .draw_series(
                    pts.iter()
                        .map(|&p| Circle::new(p, 3, colour.stroke_width(1))),
                )
                .map_err(draw_err)?;
        }
        chart
            .draw_series(
                observed
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v > 0)
                    .map(|(k, &v)| Circle::new((k as i32 + 1, v as f64), 5, BLACK.filled())),
            )
            .map_err(draw_err)?
            .label("observed")
            .legend(|(x, y)| Circle::new((x + 8, y), 4, BLACK.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(buf))
}

/// A hanging rootogram (Tukey 1977; Kleiber & Zeileis 2016): for each k, a bar of height
/// √observed hangs from the curve √expected, so a bar ending above the zero line means
/// fewer units seen k times than the model expects, below it more. `observed[k − 1]` and
/// `expected[k − 1]` are the observed and fitted numbers of units seen k times.
///
/// # Errors
/// [`Error::InvalidData`] when there is no finite expected value.
pub fn rootogram(title: &str, observed: &[u64], expected: &[f64]) -> Result<String> {
    let kmax = observed.len().max(expected.len());
    if !expected.iter().any(|e| e.is_finite()) || kmax == 0 {
        return Err(nothing("rootogram"));
    }
    let e = |k: usize| {
        expected
            .get(k)
            .copied()
            .filter(|v| v.is_finite())
            .unwrap_or(0.0)
    };
    let o = |k: usize| observed.get(k).copied().unwrap_or(0) as f64;
    let mut ylo: f64 = 0.0;
    let mut yhi: f64 = 0.0;
    for k in 0..kmax {
        let top = e(k).max(0.0).sqrt();
        let bottom = top - o(k).sqrt();
        ylo = ylo.min(bottom);
        yhi = yhi.max(top);
    }
    let (ylo, yhi) = nice_range(ylo, yhi, 0.06);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(60)
            .build_cartesian_2d(0.4..kmax as f64 + 0.6, ylo..yhi)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(kmax.min(20))
            .x_label_formatter(&|v| {
                if (v - v.round()).abs() < 1e-9 && *v >= 1.0 {
                    format!("{}", v.round())
                } else {
                    String::new()
                }
            })
            .y_label_formatter(&|v| axis_number(*v))
            .x_desc("Number of times seen (k)")
            .y_desc("√ frequency")
            .label_style(text_style(12))
            .axis_desc_style(text_style(13))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series((0..kmax).map(|k| {
                let x = k as f64 + 1.0;
                let top = e(k).max(0.0).sqrt();
                Rectangle::new(
                    [(x - 0.4, top - o(k).sqrt()), (x + 0.4, top)],
                    RGBColor(0xbb, 0xbb, 0xbb).filled(),
                )
            }))
            .map_err(draw_err)?
            .label("√ observed, hanging from the fitted curve")
            .legend(|(x, y)| {
                Rectangle::new(
                    [(x, y - 5), (x + 14, y + 5)],
                    RGBColor(0xbb, 0xbb, 0xbb).filled(),
                )
            });
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(0.4, 0.0), (kmax as f64 + 0.6, 0.0)],
                BLACK.stroke_width(1),
            )))
            .map_err(draw_err)?;
        let curve: Vec<(f64, f64)> = (0..kmax)
            .map(|k| (k as f64 + 1.0, e(k).max(0.0).sqrt()))
            .collect();
        chart
            .draw_series(LineSeries::new(curve.clone(), HEADLINE.stroke_width(2)))
            .map_err(draw_err)?
            .label("√ fitted")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], HEADLINE.stroke_width(2)));
        chart
            .draw_series(curve.iter().map(|&p| Circle::new(p, 3, HEADLINE.filled())))
            .map_err(draw_err)?;
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(buf))
}

/// The profile log-likelihood of N relative to its maximum, `curve` being points
/// `(N, log L(N))`, with the horizontal cut at −χ²₁(level)/2 that defines the interval
/// `[lower, upper]` (orange vertical lines) and the maximiser `n_max` (red line).
///
/// ```text
/// interval = { N : 2 (max log L − log L(N)) ≤ χ²₁(level) }
/// ```
///
/// # Errors
/// [`Error::InvalidData`] when the curve has fewer than two finite points.
pub fn profile(
    title: &str,
    curve: &[(f64, f64)],
    n_max: f64,
    lower: f64,
    upper: f64,
    level: f64,
) -> Result<String> {
    let pts: Vec<(f64, f64)> = curve
        .iter()
        .copied()
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .collect();
    if pts.len() < 2 {
        return Err(nothing("profile plot"));
    }
    let lmax = pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let cut = -crate::ci::chi2_quantile(level, 1.0) / 2.0;
    let floor = 3.0 * cut;
    let rel: Vec<(f64, f64)> = pts
        .iter()
        .map(|&(x, y)| (x, y - lmax))
        .filter(|p| p.1 >= floor)
        .collect();
    let rel = if rel.len() >= 2 {
        rel
    } else {
        pts.iter().map(|&(x, y)| (x, y - lmax)).collect()
    };
    let xlo = rel.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
    let xhi = rel.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
    let ylo = rel.iter().map(|p| p.1).fold(0.0, f64::min).min(cut * 1.3);
    let (xlo, xhi) = nice_range(xlo, xhi, 0.03);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, 380)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(60)
            .build_cartesian_2d(xlo..xhi, (ylo * 1.05)..0.3)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|v| axis_number(*v))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .x_desc("Population size N")
            .y_desc("Log-likelihood relative to its maximum")
            .label_style(text_style(12))
            .axis_desc_style(text_style(13))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(LineSeries::new(
                rel.clone(),
                INTERVAL_COLOUR.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label("profile log-likelihood")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 14, y)], INTERVAL_COLOUR.stroke_width(2))
            });
        chart
            .draw_series(std::iter::once(PathElement::new(
                vec![(xlo, cut), (xhi, cut)],
                SEEN.stroke_width(1),
            )))
            .map_err(draw_err)?
            .label(format!("cut-off for the {:.0}% interval", level * 100.0))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], SEEN.stroke_width(1)));
        let mut first = true;
        for lim in [lower, upper] {
            if lim.is_finite() && lim >= xlo && lim <= xhi {
                let s = chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(lim, ylo * 1.05), (lim, 0.3)],
                        PALETTE[0].stroke_width(2),
                    )))
                    .map_err(draw_err)?;
                if first {
                    s.label("interval limits").legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 14, y)], PALETTE[0].stroke_width(2))
                    });
                    first = false;
                }
            }
        }
        if n_max.is_finite() && n_max >= xlo && n_max <= xhi {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(n_max, ylo * 1.05), (n_max, 0.3)],
                    HEADLINE.stroke_width(1),
                )))
                .map_err(draw_err)?
                .label(format!("maximum at {}", axis_number(n_max)))
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], HEADLINE.stroke_width(1))
                });
        }
        legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(buf))
}

/// One point of a [`periods`] or [`dot_plot`] figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Label (a period, or an estimator).
    pub label: String,
    /// The value.
    pub value: f64,
    /// Lower end of its error bar (or interval).
    pub lower: f64,
    /// Upper end.
    pub upper: f64,
}

/// Figures per period (open populations): each `values[i]` drawn at period i + 1 with its
/// interval as a vertical bar, joined by a line. `y_desc` names the quantity in words
/// (e.g. "Population size in the period"); `clamp` limits the bars (e.g. `(0, 1)` for a
/// survival probability). Points with a non-finite value are left out.
///
/// # Errors
/// [`Error::InvalidData`] when no value is finite.
pub fn periods(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    values: &[Point],
    clamp: (f64, f64),
) -> Result<String> {
    let pts: Vec<(usize, &Point)> = values
        .iter()
        .enumerate()
        .filter(|(_, p)| p.value.is_finite())
        .collect();
    if pts.is_empty() {
        return Err(nothing("period plot"));
    }
    let lim = |v: f64, fallback: f64| {
        if v.is_finite() {
            v.clamp(clamp.0, clamp.1)
        } else {
            fallback
        }
    };
    let mut ylo = f64::INFINITY;
    let mut yhi = f64::NEG_INFINITY;
    for (_, p) in &pts {
        ylo = ylo.min(lim(p.lower, p.value)).min(p.value);
        yhi = yhi.max(lim(p.upper, p.value)).max(p.value);
    }
    let (ylo, yhi) = nice_range(ylo, yhi, 0.08);
    let ylo = ylo.max(clamp.0.min(ylo.max(clamp.0)));
    let n = values.len();
    let labels: Vec<String> = values.iter().map(|p| p.label.clone()).collect();
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, 340)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(70)
            .build_cartesian_2d(0i32..n as i32 + 1, ylo..yhi)
            .map_err(draw_err)?;
        let fmt = |k: &i32| {
            if *k >= 1 && (*k as usize) <= n {
                labels[*k as usize - 1].clone()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n + 2)
            .x_label_formatter(&fmt)
            .y_label_formatter(&|v| axis_number(*v))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(text_style(12))
            .axis_desc_style(text_style(13))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(draw_err)?;
        let line: Vec<(i32, f64)> = pts.iter().map(|(i, p)| (*i as i32 + 1, p.value)).collect();
        chart
            .draw_series(LineSeries::new(
                line,
                INTERVAL_COLOUR.mix(0.5).stroke_width(1),
            ))
            .map_err(draw_err)?;
        for (i, p) in &pts {
            let x = *i as i32 + 1;
            let (a, b) = (lim(p.lower, p.value), lim(p.upper, p.value));
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, a), (x, b)],
                    INTERVAL_COLOUR.stroke_width(2),
                )))
                .map_err(draw_err)?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (x, p.value),
                    4,
                    INTERVAL_COLOUR.filled(),
                )))
                .map_err(draw_err)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(finish(buf))
}

/// A horizontal dot plot: one row per point with its error bar, and a vertical reference
/// line (e.g. the nominal coverage, or zero bias) labelled `reference.1`. Used for
/// simulation results: bias and coverage per estimator with Monte-Carlo error bars.
///
/// # Errors
/// [`Error::InvalidData`] when no value is finite.
pub fn dot_plot(
    title: &str,
    x_desc: &str,
    points: &[Point],
    reference: Option<(f64, &str)>,
) -> Result<String> {
    let pts: Vec<&Point> = points.iter().filter(|p| p.value.is_finite()).collect();
    if pts.is_empty() {
        return Err(nothing("dot plot"));
    }
    let n = pts.len();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for p in &pts {
        for v in [p.value, p.lower, p.upper] {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    if let Some((r, _)) = reference {
        lo = lo.min(r);
        hi = hi.max(r);
    }
    let (lo, hi) = nice_range(lo, hi, 0.05);
    // Room above the rows for the legend.
    let extra = if reference.is_some() { 1.6 } else { 0.0 };
    let top = n as f64 - 0.3 + extra;
    let height = 100 + 20 * n as u32 + (20.0 * extra) as u32;
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 16))
            .margin(10)
            .margin_left(200)
            .x_label_area_size(42)
            .y_label_area_size(0)
            .build_cartesian_2d(lo..hi, -0.7..top)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .disable_y_axis()
            .x_labels(8)
            .x_label_formatter(&|v| axis_number(*v))
            .x_desc(x_desc)
            .label_style(text_style(12))
            .axis_desc_style(text_style(13))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(draw_err)?;
        if let Some((r, label)) = reference {
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(r, -0.7), (r, n as f64 - 0.3)],
                    HEADLINE.stroke_width(2),
                )))
                .map_err(draw_err)?
                .label(label.to_string())
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], HEADLINE.stroke_width(2))
                });
        }
        for (i, p) in pts.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let a = if p.lower.is_finite() {
                p.lower
            } else {
                p.value
            };
            let b = if p.upper.is_finite() {
                p.upper
            } else {
                p.value
            };
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(a.clamp(lo, hi), y), (b.clamp(lo, hi), y)],
                    INTERVAL_COLOUR.stroke_width(2),
                )))
                .map_err(draw_err)?;
            chart
                .draw_series(std::iter::once(Circle::new(
                    (p.value, y),
                    4,
                    INTERVAL_COLOUR.filled(),
                )))
                .map_err(draw_err)?;
            let (px, py) = chart.backend_coord(&(lo, y));
            root.draw(&Text::new(
                p.label.clone(),
                (px - 8, py),
                text_style(12).pos(Pos::new(HPos::Right, VPos::Center)),
            ))
            .map_err(draw_err)?;
        }
        if reference.is_some() {
            legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(finish(buf))
}

/// One line of a [`lines`] figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// (x, y) points, joined in order; non-finite points are left out.
    pub points: Vec<(f64, f64)>,
}

/// A horizontal reference of a [`lines`] figure: a value drawn as a red line across the
/// plot, with an optional shaded band (its interval) behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Legend label.
    pub label: String,
    /// The value.
    pub value: f64,
    /// Band (lower, upper) around it, or `None`.
    pub band: Option<(f64, f64)>,
}

/// Lines against a continuous x (an estimate over the sample order, the draws of each
/// MCMC chain, a posterior distribution function), each series in its own colour with a
/// legend, and an optional horizontal reference with its band (the final estimate and
/// its interval). `y_range` fixes the vertical axis (e.g. `(0, 1)` for a probability).
///
/// # Errors
/// [`Error::InvalidData`] when no point is finite.
pub fn lines(
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
    reference: Option<&Reference>,
    y_range: Option<(f64, f64)>,
) -> Result<String> {
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let pts: Vec<(f64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().filter(finite).copied())
        .collect();
    if pts.is_empty() {
        return Err(nothing("line figure"));
    }
    let (mut xlo, mut xhi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut ylo, mut yhi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &(x, y) in &pts {
        (xlo, xhi) = (xlo.min(x), xhi.max(x));
        (ylo, yhi) = (ylo.min(y), yhi.max(y));
    }
    if let Some(r) = reference {
        for v in [Some(r.value), r.band.map(|b| b.0), r.band.map(|b| b.1)]
            .into_iter()
            .flatten()
            .filter(|v| v.is_finite())
        {
            (ylo, yhi) = (ylo.min(v), yhi.max(v));
        }
    }
    let (xlo, xhi) = nice_range(xlo, xhi, 0.0);
    let entries = series.len() + reference.map_or(0, |r| 1 + usize::from(r.band.is_some()));
    let (ylo, yhi) = y_range.unwrap_or_else(|| {
        // Room above the lines for the legend.
        let (a, b) = nice_range(ylo, yhi, 0.08);
        (a, b + (b - a) * 0.07 * entries as f64)
    });
    // The legend goes where the lines are not: upper right, unless they end up there.
    let right: Vec<f64> = pts
        .iter()
        .filter(|p| p.0 > xlo + 0.6 * (xhi - xlo))
        .map(|p| p.1)
        .collect();
    let upper = right
        .iter()
        .filter(|&&y| y > ylo + 0.6 * (yhi - ylo))
        .count();
    let lower = right
        .iter()
        .filter(|&&y| y < ylo + 0.4 * (yhi - ylo))
        .count();
    let legend_at = if upper > lower {
        SeriesLabelPosition::LowerRight
    } else {
        SeriesLabelPosition::UpperRight
    };
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(70)
            .build_cartesian_2d(xlo..xhi, ylo..yhi)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_labels(8)
            .x_label_formatter(&|v| axis_number(*v))
            .y_label_formatter(&|v| axis_number(*v))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(text_style(12))
            .axis_desc_style(text_style(13))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(draw_err)?;
        if let Some(r) = reference {
            if let Some((a, b)) = r.band.filter(|b| b.0.is_finite() && b.1.is_finite()) {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(xlo, a.clamp(ylo, yhi)), (xhi, b.clamp(ylo, yhi))],
                        BAND.mix(0.25).filled(),
                    )))
                    .map_err(draw_err)?
                    .label(format!("interval {} to {}", axis_number(a), axis_number(b)))
                    .legend(|(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 14, y + 5)], BAND.mix(0.4).filled())
                    });
            }
            if r.value.is_finite() {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(xlo, r.value), (xhi, r.value)],
                        HEADLINE.stroke_width(2),
                    )))
                    .map_err(draw_err)?
                    .label(r.label.clone())
                    .legend(|(x, y)| {
                        PathElement::new(vec![(x, y), (x + 14, y)], HEADLINE.stroke_width(2))
                    });
            }
        }
        let one = series.len() == 1;
        for (i, s) in series.iter().enumerate() {
            let colour = if one {
                INTERVAL_COLOUR
            } else {
                PALETTE[i % PALETTE.len()]
            };
            let width = if one { 2 } else { 1 };
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().filter(finite).copied(),
                    colour.stroke_width(width),
                ))
                .map_err(draw_err)?
                .label(s.label.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(2))
                });
        }
        legend(&mut chart, legend_at)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(buf))
}

/// A histogram of draws (a posterior sample) in `bins` equal bins, with vertical marks
/// (label, value): the first solid red (the figure cited), the next two dashed dark grey
/// (an interval's ends), any further dashed green (a prior median). Non-finite draws and
/// marks are left out.
///
/// # Errors
/// [`Error::InvalidData`] when no draw is finite.
pub fn histogram(
    title: &str,
    x_desc: &str,
    draws: &[f64],
    bins: usize,
    marks: &[(String, f64)],
) -> Result<String> {
    let v: Vec<f64> = draws.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return Err(nothing("histogram"));
    }
    let bins = bins.max(1);
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        nice_range(lo, hi, 0.0)
    };
    let w = (hi - lo) / bins as f64;
    let mut counts = vec![0usize; bins];
    for x in &v {
        counts[(((x - lo) / w) as usize).min(bins - 1)] += 1;
    }
    let share: Vec<f64> = counts.iter().map(|&c| c as f64 / v.len() as f64).collect();
    let ymax = share.iter().copied().fold(0.0, f64::max) * 1.25;
    let mut xlo = lo;
    let mut xhi = hi;
    for (_, m) in marks.iter().filter(|m| m.1.is_finite()) {
        xlo = xlo.min(*m);
        xhi = xhi.max(*m);
    }
    let (xlo, xhi) = nice_range(xlo, xhi, 0.03);
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(42)
            .y_label_area_size(70)
            .build_cartesian_2d(xlo..xhi, 0.0..ymax)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(8)
            .x_label_formatter(&|v| axis_number(*v))
            .y_label_formatter(&|v| format!("{:.0}%", 100.0 * v))
            .x_desc(x_desc)
            .y_desc("Share of draws")
            .label_style(text_style(12))
            .axis_desc_style(text_style(13))
            .light_line_style(RGBColor(0xee, 0xee, 0xee))
            .draw()
            .map_err(draw_err)?;
        chart
            .draw_series(share.iter().enumerate().map(|(i, &h)| {
                let a = lo + w * i as f64;
                Rectangle::new([(a, 0.0), (a + w, h)], INTERVAL_COLOUR.mix(0.55).filled())
            }))
            .map_err(draw_err)?;
        for (i, (label, m)) in marks.iter().enumerate().filter(|(_, m)| m.1.is_finite()) {
            let colour = match i {
                0 => HEADLINE,
                1 | 2 => SEEN,
                _ => TRUTH,
            };
            let style = colour.stroke_width(if i == 0 { 2 } else { 1 });
            // The cited figure as a solid line, the others dashed (ten segments).
            let segments: Vec<PathElement<(f64, f64)>> = if i == 0 {
                vec![PathElement::new(vec![(*m, 0.0), (*m, ymax)], style)]
            } else {
                (0..10)
                    .map(|k| {
                        let y = ymax * k as f64 / 10.0;
                        PathElement::new(vec![(*m, y), (*m, y + ymax / 20.0)], style)
                    })
                    .collect()
            };
            let series = chart.draw_series(segments);
            series
                .map_err(draw_err)?
                .label(format!("{label} ({})", axis_number(*m)))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 14, y)], style));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        root.present().map_err(draw_err)?;
    }
    Ok(finish(buf))
}

/// Draws the legend of `chart`'s labelled series at `at`.
fn legend<'a, DB, CT>(chart: &mut ChartContext<'a, DB, CT>, at: SeriesLabelPosition) -> Result<()>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(at)
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(0xbb, 0xbb, 0xbb))
        .label_font(text_style(11))
        .draw()
        .map_err(draw_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(svg: &str) -> roxmltree::Document<'_> {
        roxmltree::Document::parse(svg).expect("the SVG parses as XML")
    }

    fn stroke_lines(svg: &str, colour: RGBColor) -> usize {
        let hex = format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2);
        let doc = parse(svg);
        doc.descendants()
            .filter(|n| n.has_tag_name("polyline"))
            .filter(|n| {
                n.attribute("stroke")
                    .is_some_and(|s| s.eq_ignore_ascii_case(&hex))
            })
            .count()
    }

    #[test]
    fn thousands() {
        assert_eq!(group_thousands(1234567), "1,234,567");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(-1000), "-1,000");
        assert_eq!(axis_number(0.25), "0.25");
        assert_eq!(axis_number(10356.4), "10,356");
        assert_eq!(axis_number(2.5e20), "2.5e20");
    }

    #[test]
    fn forest_draws_one_interval_per_row() {
        let rows: Vec<ForestRow> = (0..5)
            .map(|i| ForestRow {
                label: format!("model {i}"),
                n_hat: 100.0 + 10.0 * i as f64,
                lower: 90.0 + 10.0 * i as f64,
                upper: if i == 4 {
                    f64::INFINITY
                } else {
                    120.0 + 10.0 * i as f64
                },
                weight: if i == 1 { 1.0 } else { 0.0 },
                excluded: i == 3,
            })
            .collect();
        let svg = forest(
            "A test <forest>",
            &rows,
            Some(Band {
                n_hat: 110.0,
                lower: 100.0,
                upper: 130.0,
            }),
            80.0,
            Some(115.0),
        )
        .unwrap();
        let doc = parse(&svg);
        assert_eq!(stroke_lines(&svg, INTERVAL_COLOUR), 4);
        assert_eq!(stroke_lines(&svg, EXCLUDED_COLOUR), 1);
        let texts: Vec<String> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text().map(|t| t.trim().to_string()))
            .collect();
        assert!(texts.iter().any(|t| t == "A test <forest>"), "{texts:?}");
        assert!(texts.iter().any(|t| t == "model 3 (excluded)"));
        assert!(
            texts
                .iter()
                .any(|t| t == "Estimated population size, with interval")
        );
        // Same input, same bytes.
        let again = forest(
            "A test <forest>",
            &rows,
            Some(Band {
                n_hat: 110.0,
                lower: 100.0,
                upper: 130.0,
            }),
            80.0,
            Some(115.0),
        )
        .unwrap();
        assert_eq!(svg, again);
    }

    #[test]
    fn forest_refuses_nothing_finite() {
        let rows = vec![ForestRow {
            label: "x".into(),
            n_hat: f64::NAN,
            lower: 1.0,
            upper: 2.0,
            weight: 0.0,
            excluded: false,
        }];
        assert!(matches!(
            forest("t", &rows, None, 1.0, None),
            Err(Error::InvalidData { .. })
        ));
    }

    #[test]
    fn frequencies_and_rootogram_draw_their_marks() {
        let obs = [43u64, 16, 8, 6, 0, 2, 1];
        let fit = FittedSeries {
            label: "M0".into(),
            values: vec![30.0, 25.0, 12.0, 4.0, 1.0, 0.2, 0.02],
        };
        let svg = frequencies("f_k", &obs, std::slice::from_ref(&fit)).unwrap();
        let doc = parse(&svg);
        // Six non-zero observed frequencies as filled black dots (plus one in the legend).
        let dots = doc
            .descendants()
            .filter(|n| n.has_tag_name("circle") && n.attribute("fill") == Some("#000000"))
            .count();
        assert_eq!(dots, 7);
        let svg = rootogram("root", &obs, &fit.values).unwrap();
        let doc = parse(&svg);
        let bars = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("fill") == Some("#BBBBBB"))
            .count();
        assert_eq!(bars, 7 + 1, "one bar per k and one in the legend");
    }

    #[test]
    fn profile_marks_the_cut_and_limits() {
        let curve: Vec<(f64, f64)> = (0..50)
            .map(|i| {
                let n = 70.0 + i as f64;
                (n, -0.5 * ((n - 90.0) / 6.0).powi(2))
            })
            .collect();
        let svg = profile("p", &curve, 90.0, 78.24, 101.76, 0.95).unwrap();
        let doc = parse(&svg);
        let texts: Vec<&str> = doc
            .descendants()
            .filter(|n| n.has_tag_name("text"))
            .filter_map(|n| n.text())
            .collect();
        assert!(
            texts
                .iter()
                .any(|t| t.contains("cut-off for the 95% interval"))
        );
        assert!(texts.iter().any(|t| t.contains("maximum at 90")));
        assert!(profile("p", &curve[..1], 90.0, 80.0, 100.0, 0.95).is_err());
    }

    #[test]
    fn periods_and_dots() {
        let v: Vec<Point> = (0..4)
            .map(|i| Point {
                label: format!("period {}", i + 1),
                value: 0.5 + 0.1 * i as f64,
                lower: 0.4,
                upper: 1.2,
            })
            .collect();
        let svg = periods("s", "Period", "Survival probability", &v, (0.0, 1.0)).unwrap();
        parse(&svg);
        assert!(svg.contains("period 3"));
        let svg = dot_plot("c", "Coverage (%)", &v, Some((0.95, "nominal 95%"))).unwrap();
        parse(&svg);
        assert!(svg.contains("nominal 95%"));
    }

    #[test]
    fn lines_and_histogram_draw() {
        let a = Series {
            label: "chain 1".into(),
            points: (0..50)
                .map(|i| (i as f64, 100.0 + (i % 7) as f64))
                .collect(),
        };
        let b = Series {
            label: "chain 2".into(),
            points: vec![(0.0, 101.0), (1.0, f64::NAN), (2.0, 103.0)],
        };
        let r = Reference {
            label: "median".into(),
            value: 103.0,
            band: Some((100.0, 106.0)),
        };
        let svg = lines("t", "draw", "N", &[a, b], Some(&r), None).unwrap();
        parse(&svg);
        assert!(svg.contains("chain 2") && svg.contains("median"));
        assert_eq!(stroke_lines(&svg, HEADLINE), 2, "line and its legend");
        let none = Series {
            label: "x".into(),
            points: vec![(f64::NAN, 1.0)],
        };
        assert!(lines("t", "x", "y", &[none], None, None).is_err());
        let draws: Vec<f64> = (0..1000).map(|i| 500.0 + (i % 100) as f64).collect();
        let marks = vec![("median".to_string(), 550.0), ("5%".to_string(), 505.0)];
        let svg = histogram("h", "N", &draws, 20, &marks).unwrap();
        let doc = parse(&svg);
        let bars = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
        assert!(bars >= 20, "{bars}");
        assert!(svg.contains("median (550)"));
        assert!(histogram("h", "N", &[f64::NAN], 10, &[]).is_err());
    }
}
