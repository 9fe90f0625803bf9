//! Pictures and the run report: a PNG quicklook of the map with the deposits and the
//! target outlines over it, the ROC and success-rate curves as PNGs (plotters, bitmap
//! backend, text in DejaVu Sans shipped in `assets/fonts/` so nothing is looked up on
//! the machine), and `report.html`, one self-contained page (images embedded as base64
//! data URIs) with the inputs, grid, model, validation figures and the targets table.

use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::evaluate::Evaluation;
use crate::grid::Grid;
use crate::manifest::Manifest;
use crate::targets::Targets;

/// DejaVu Sans (Bitstream Vera licence, see `assets/fonts/DejaVu-LICENSE.txt`).
static FONT: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // The font is compiled in and known to parse; a failure would only lose text.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

fn draw_err(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |e| Error::output(path, format!("drawing: {e}"))
}

/// RGB of `v` in [0, 1] on the viridis ramp of [`crate::styles::RAMP`].
pub fn ramp(v: f64) -> RGBColor {
    let stops = crate::styles::RAMP;
    let hex = |s: &str| {
        let n = u32::from_str_radix(&s[1..], 16).unwrap_or(0);
        [(n >> 16) as f64, ((n >> 8) & 255) as f64, (n & 255) as f64]
    };
    let v = v.clamp(0.0, 1.0);
    let j = stops.iter().position(|s| s.0 >= v).unwrap_or(stops.len() - 1).max(1);
    let (a, b) = (stops[j - 1], stops[j]);
    let t = if b.0 > a.0 { (v - a.0) / (b.0 - a.0) } else { 0.0 };
    let (ca, cb) = (hex(a.1), hex(b.1));
    let c = |k: usize| (ca[k] + t * (cb[k] - ca[k])).round() as u8;
    RGBColor(c(0), c(1), c(2))
}

/// Encodes an RGB buffer as PNG.
pub fn encode_png(rgb: &[u8], width: u32, height: u32, path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        let mut w = enc.write_header().map_err(|e| Error::output(path, e))?;
        w.write_image_data(rgb).map_err(|e| Error::output(path, e))?;
    }
    Ok(out)
}

/// How a map panel colours its cells.
pub enum Stretch<'a> {
    /// Discrete classes by area (the prospectivity map).
    Classes(&'a crate::styles::AreaClasses),
    /// A continuous ramp from 0 to `max` (values above clipped), with the legend title.
    Ramp {
        /// The value of the last colour.
        max: f64,
        /// What the values are.
        title: &'a str,
    },
}

/// What frames a map panel: its title, the CRS name and whether map units are metres
/// (the scale bar is drawn only then).
pub struct Frame<'a> {
    /// Title above the map.
    pub title: &'a str,
    /// CRS name (`EPSG:7845`).
    pub crs: &'a str,
    /// Map units are metres.
    pub metres: bool,
    /// Longer side of the map in pixels, at most.
    pub max_px: usize,
}

/// RGB of a hex colour `#rrggbb`.
fn hex_rgb(s: &str) -> RGBColor {
    let n = u32::from_str_radix(s.trim_start_matches('#'), 16).unwrap_or(0);
    RGBColor((n >> 16) as u8, ((n >> 8) & 255) as u8, (n & 255) as u8)
}

/// Colour of `t` in [0, 1] on the uncertainty ramp.
fn uncertainty_colour(t: f64) -> RGBColor {
    let stops = crate::styles::UNCERTAINTY_RAMP;
    let t = t.clamp(0.0, 1.0);
    let j = stops.iter().position(|s| s.0 >= t).unwrap_or(stops.len() - 1).max(1);
    let (a, b) = (stops[j - 1], stops[j]);
    let f = if b.0 > a.0 { (t - a.0) / (b.0 - a.0) } else { 0.0 };
    let (ca, cb) = (hex_rgb(a.1), hex_rgb(b.1));
    let mix = |x: u8, y: u8| (x as f64 + f * (y as f64 - x as f64)).round() as u8;
    RGBColor(mix(ca.0, cb.0), mix(ca.1, cb.1), mix(ca.2, cb.2))
}

/// A "nice" step (1, 2 or 5 times a power of ten) near `raw`.
pub fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(raw.log10().floor());
    let m = raw / p;
    p * if m < 1.5 {
        1.0
    } else if m < 3.5 {
        2.0
    } else if m < 7.5 {
        5.0
    } else {
        10.0
    }
}

/// Pixels left of the map in a map picture (tick labels).
pub const MAP_LEFT: u32 = 62;
/// Pixels above the map (title).
pub const MAP_TOP: u32 = 40;
/// Width of the legend panel right of the map (14 px after the map's frame).
pub const LEGEND_WIDTH: u32 = 230;

/// Grey of cells outside the study area or without a score.
pub const NO_DATA_GREY: RGBColor = RGBColor(235, 235, 235);

/// The map picture of `map` with its cartography: the map reduced to at most `max_px`
/// on its longer side, coordinate ticks on its frame (labelled in the CRS units, km when
/// metres) with the CRS named, a scale bar, a north arrow (grid north), a legend of the
/// colour classes, deposits as white dots and target outlines in red with the ranks of
/// the ten best.
pub fn map_png(
    map: &Path,
    grid: &Grid,
    frame: &Frame,
    stretch: &Stretch,
    deposits: &[[f64; 2]],
    targets: Option<&Targets>,
    path: &Path,
) -> Result<Vec<u8>> {
    register_font();
    let max_px = frame.max_px;
    let scale = (max_px as f64 / grid.cols.max(grid.rows) as f64).min(1.0);
    let (w, h) =
        (((grid.cols as f64 * scale).round() as usize).max(1), ((grid.rows as f64 * scale).round() as usize).max(1));
    let (values, valid) = crate::io::cog::read_reduced(map, w, h)?;
    let (left, top, bottom, legend_w) = (MAP_LEFT, MAP_TOP, 70u32, LEGEND_WIDTH);
    let (width, height) = (left + w as u32 + 14 + legend_w, (top + h as u32 + bottom).max(top + 420));
    let mut buf = vec![255u8; (width * height * 3) as usize];
    // The map's cells straight into the buffer.
    let colour = |v: f32| -> RGBColor {
        match stretch {
            Stretch::Classes(c) => hex_rgb(crate::styles::CLASS_COLOURS[c.class_of(v)]),
            Stretch::Ramp { max, .. } => uncertainty_colour(v as f64 / max.max(f64::MIN_POSITIVE)),
        }
    };
    for r in 0..h {
        for c in 0..w {
            let i = r * w + c;
            let RGBColor(cr, cg, cb) = if valid[i] { colour(values[i]) } else { NO_DATA_GREY };
            let o = (((top as usize + r) * width as usize) + left as usize + c) * 3;
            buf[o..o + 3].copy_from_slice(&[cr, cg, cb]);
        }
    }
    let err = draw_err(path);
    let e = |x: plotters::drawing::DrawingAreaErrorKind<_>| err(x.to_string());
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        let [x0, dx, _, y0, _, dy] = grid.geo_transform;
        let px = |x: f64, y: f64| -> (i32, i32) {
            (left as i32 + ((x - x0) / dx * scale) as i32, top as i32 + ((y - y0) / dy * scale) as i32)
        };
        let (mx0, my0, mx1, my1) = (left as i32, top as i32, left as i32 + w as i32, top as i32 + h as i32);
        if let Some(t) = targets {
            for target in t.targets.iter().rev() {
                let ring: Vec<(i32, i32)> = target.polygon.exterior().0.iter().map(|p| px(p.x, p.y)).collect();
                root.draw(&PathElement::new(ring, RED.stroke_width(1))).map_err(e)?;
            }
        }
        for p in deposits {
            let (x, y) = px(p[0], p[1]);
            root.draw(&Circle::new((x, y), 2, WHITE.filled())).map_err(e)?;
            root.draw(&Circle::new((x, y), 2, BLACK.stroke_width(1))).map_err(e)?;
        }
        let label = ("sans-serif", 13).into_font().color(&BLACK);
        if let Some(t) = targets {
            for target in t.targets.iter().take(10) {
                let (x, y) = px(target.centroid[0], target.centroid[1]);
                root.draw(&Text::new(format!("{}", target.rank), (x + 3, y - 6), label.clone())).map_err(e)?;
            }
        }
        // Frame and coordinate ticks.
        root.draw(&Rectangle::new([(mx0 - 1, my0 - 1), (mx1, my1)], BLACK.stroke_width(1))).map_err(e)?;
        let small = ("sans-serif", 11).into_font().color(&BLACK);
        let [bx0, by0, bx1, by1] = grid.bounds();
        let unit = if frame.metres { 1000.0 } else { 1.0 };
        let step = nice_step((bx1 - bx0).max(by1 - by0) / 5.0);
        let fmt = |v: f64| {
            let u = v / unit;
            if (u - u.round()).abs() < 1e-9 {
                format!("{}", u.round())
            } else {
                format!("{u:.2}")
            }
        };
        let mut x = (bx0 / step).ceil() * step;
        while x <= bx1 {
            let (sx, _) = px(x, by0);
            root.draw(&PathElement::new(vec![(sx, my1), (sx, my1 + 5)], BLACK.stroke_width(1))).map_err(e)?;
            root.draw(&PathElement::new(vec![(sx, my0 - 1), (sx, my0 - 5)], BLACK.stroke_width(1))).map_err(e)?;
            let s = fmt(x);
            root.draw(&Text::new(s.clone(), (sx - 3 * s.len() as i32, my1 + 7), small.clone())).map_err(e)?;
            x += step;
        }
        let mut y = (by0 / step).ceil() * step;
        while y <= by1 {
            let (_, sy) = px(bx0, y);
            root.draw(&PathElement::new(vec![(mx0 - 6, sy), (mx0 - 1, sy)], BLACK.stroke_width(1))).map_err(e)?;
            root.draw(&PathElement::new(vec![(mx1, sy), (mx1 + 5, sy)], BLACK.stroke_width(1))).map_err(e)?;
            let s = fmt(y);
            root.draw(&Text::new(s.clone(), (mx0 - 8 - 6 * s.len() as i32, sy - 6), small.clone())).map_err(e)?;
            y += step;
        }
        let units = if frame.metres { "km" } else { "CRS units" };
        root.draw(&Text::new(
            format!("{}: easting, northing in {units}; ticks every {}", frame.crs, fmt(step)),
            (mx0, my1 + 22),
            small.clone(),
        ))
        .map_err(e)?;
        // Scale bar under the map.
        if frame.metres {
            let metres_per_px = dx.abs() / scale;
            let len_m = nice_step(w as f64 * metres_per_px / 4.0);
            let len_px = (len_m / metres_per_px).round() as i32;
            let (sx, sy) = (mx0, my1 + 44);
            let half = len_px / 2;
            root.draw(&Rectangle::new([(sx, sy), (sx + half, sy + 6)], BLACK.filled())).map_err(e)?;
            root.draw(&Rectangle::new([(sx + half, sy), (sx + len_px, sy + 6)], WHITE.filled())).map_err(e)?;
            root.draw(&Rectangle::new([(sx, sy), (sx + len_px, sy + 6)], BLACK.stroke_width(1))).map_err(e)?;
            root.draw(&Text::new("0", (sx - 3, sy + 9), small.clone())).map_err(e)?;
            let s = format!("{} km", fmt(len_m));
            root.draw(&Text::new(s, (sx + len_px - 8, sy + 9), small.clone())).map_err(e)?;
            root.draw(&Text::new("scale", (sx + len_px + 30, sy - 2), small.clone())).map_err(e)?;
        }
        let title = ("sans-serif", 15).into_font().color(&BLACK);
        root.draw(&Text::new(frame.title.to_string(), (mx0, 12), title.clone())).map_err(e)?;

        // Legend panel: north arrow, classes, symbols.
        let lx = mx1 + 18;
        let (ax, ay) = (lx + 20, my0 + 8);
        root.draw(&Polygon::new(vec![(ax, ay), (ax - 9, ay + 30), (ax, ay + 22)], BLACK.filled())).map_err(e)?;
        root.draw(&Polygon::new(vec![(ax, ay), (ax + 9, ay + 30), (ax, ay + 22)], BLACK.stroke_width(1))).map_err(e)?;
        root.draw(&Text::new("N", (ax - 4, ay + 33), title.clone())).map_err(e)?;
        root.draw(&Text::new("grid north", (ax + 16, ay + 12), small.clone())).map_err(e)?;
        let mut ly = ay + 62;
        let heading = ("sans-serif", 13).into_font().color(&BLACK);
        let swatch = |root: &DrawingArea<BitMapBackend, plotters::coord::Shift>, y: i32, c: RGBColor| {
            root.draw(&Rectangle::new([(lx, y), (lx + 18, y + 12)], c.filled()))?;
            root.draw(&Rectangle::new([(lx, y), (lx + 18, y + 12)], BLACK.stroke_width(1)))
        };
        match stretch {
            Stretch::Classes(c) => {
                root.draw(&Text::new("Share of the scored area", (lx, ly), heading.clone())).map_err(e)?;
                ly += 18;
                for (i, l) in c.labels().iter().enumerate() {
                    swatch(&root, ly, hex_rgb(crate::styles::CLASS_COLOURS[i])).map_err(e)?;
                    root.draw(&Text::new(l.clone(), (lx + 24, ly), small.clone())).map_err(e)?;
                    ly += 17;
                }
            }
            Stretch::Ramp { max, title } => {
                root.draw(&Text::new(title.to_string(), (lx, ly), heading.clone())).map_err(e)?;
                ly += 18;
                for i in 0..120 {
                    let c = uncertainty_colour(i as f64 / 119.0);
                    root.draw(&Rectangle::new([(lx + i, ly), (lx + i + 1, ly + 12)], c.filled())).map_err(e)?;
                }
                root.draw(&Rectangle::new([(lx, ly), (lx + 120, ly + 12)], BLACK.stroke_width(1))).map_err(e)?;
                ly += 15;
                root.draw(&Text::new("0", (lx, ly), small.clone())).map_err(e)?;
                let s = format!(">= {}", crate::styles::short(*max));
                root.draw(&Text::new(s, (lx + 100, ly), small.clone())).map_err(e)?;
                ly += 17;
            }
        }
        swatch(&root, ly, NO_DATA_GREY).map_err(e)?;
        root.draw(&Text::new("no score / outside", (lx + 24, ly), small.clone())).map_err(e)?;
        ly += 22;
        root.draw(&Circle::new((lx + 9, ly + 6), 3, WHITE.filled())).map_err(e)?;
        root.draw(&Circle::new((lx + 9, ly + 6), 3, BLACK.stroke_width(1))).map_err(e)?;
        root.draw(&Text::new("known deposit", (lx + 24, ly), small.clone())).map_err(e)?;
        if targets.is_some() {
            ly += 18;
            root.draw(&Rectangle::new([(lx, ly), (lx + 18, ly + 12)], RED.stroke_width(1))).map_err(e)?;
            root.draw(&Text::new("target area (rank)", (lx + 24, ly), small.clone())).map_err(e)?;
        }
        root.present().map_err(e)?;
    }
    encode_png(&buf, width, height, path)
}

/// A curve chart (x and y in [0, 1]) with a diagonal for reference.
fn curve_png(title: &str, x_label: &str, y_label: &str, points: &[(f64, f64)], path: &Path) -> Result<Vec<u8>> {
    register_font();
    let (width, height) = (480u32, 440u32);
    let mut buf = vec![255u8; (width * height * 3) as usize];
    let err = draw_err(path);
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style(("sans-serif", 12))
            .axis_desc_style(("sans-serif", 14))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(LineSeries::new([(0.0, 0.0), (1.0, 1.0)], BLACK.mix(0.4).stroke_width(1)))
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(LineSeries::new(points.iter().copied(), RGBColor(33, 145, 140).stroke_width(2)))
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    encode_png(&buf, width, height, path)
}

/// ROC points from the success-rate curve: at each step, the fraction of the scored
/// area above the step minus the deposits there is the false-positive fraction. This
/// counts deposits, not deposit cells, so where several deposits share a cell the
/// false-positive fraction is off by (shared deposits) / (negative cells), i.e. below
/// 1e-5 on Cloncurry.
pub fn roc_points(e: &Evaluation) -> Vec<(f64, f64)> {
    let n_all = e.scored_cells as f64;
    let p = e.deposits_scored as f64;
    let negatives = (n_all - p).max(1.0);
    e.success_rate.iter().map(|&[area, tpr]| (((area * n_all - tpr * p) / negatives).clamp(0.0, 1.0), tpr)).collect()
}

/// The ROC curve PNG.
pub fn roc_png(e: &Evaluation, path: &Path) -> Result<Vec<u8>> {
    curve_png(&format!("ROC, AUC = {:.3}", e.auc), "false-positive fraction", "deposits captured", &roc_points(e), path)
}

/// The success-rate curve PNG.
pub fn success_png(e: &Evaluation, path: &Path) -> Result<Vec<u8>> {
    let pts: Vec<(f64, f64)> = e.success_rate.iter().map(|p| (p[0], p[1])).collect();
    curve_png("Success rate", "fraction of the area (best first)", "fraction of deposits", &pts, path)
}

/// The prediction-rate curve PNG: deposits held out by cross-validation against the
/// fraction of held-out rows, best first (`metrics.json` `validation.prediction_rate`).
pub fn prediction_rate_png(points: &[(f64, f64)], path: &Path) -> Result<Vec<u8>> {
    curve_png(
        "Prediction rate (held-out folds)",
        "fraction of held-out rows (best first)",
        "fraction of held-out deposits",
        points,
        path,
    )
}

/// Horizontal bars of the permutation importance per evidence layer (AUC lost when
/// the layer is permuted on held-out folds), largest first.
pub fn importance_png(importance: &[(String, f64)], path: &Path) -> Result<Vec<u8>> {
    register_font();
    let mut rows = importance.to_vec();
    rows.sort_by(|a, b| b.1.total_cmp(&a.1));
    let (width, height) = (560u32, 80 + 34 * rows.len().max(1) as u32);
    let mut buf = vec![255u8; (width * height * 3) as usize];
    let err = draw_err(path);
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        let top = rows.iter().map(|r| r.1).fold(0.0f64, f64::max).max(1e-6) * 1.1;
        let low = rows.iter().map(|r| r.1).fold(0.0f64, f64::min).min(0.0);
        let n = rows.len();
        let mut chart = ChartBuilder::on(&root)
            .caption("Permutation importance (AUC lost)", ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(140)
            .build_cartesian_2d(low..top, (0..n).into_segmented())
            .map_err(|e| err(e.to_string()))?;
        let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|y: &SegmentValue<usize>| match y {
                SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                    names.get(n - 1 - *i).cloned().unwrap_or_default()
                }
                SegmentValue::Last => String::new(),
            })
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(|e| err(e.to_string()))?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
                let y = n - 1 - i;
                let mut bar = Rectangle::new(
                    [(0.0, SegmentValue::Exact(y)), (*v, SegmentValue::Exact(y + 1))],
                    RGBColor(33, 145, 140).filled(),
                );
                bar.set_margin(5, 5, 0, 0);
                bar
            }))
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
    }
    encode_png(&buf, width, height, path)
}

/// Marks the start of the targets section in `report.html` (`lode targets` replaces it).
pub const TARGETS_BEGIN: &str = "<!-- lode:targets -->";
/// Marks its end.
pub const TARGETS_END: &str = "<!-- /lode:targets -->";

/// How many deposit names a row of the report's targets table lists.
const NAMES_SHOWN: usize = 6;

/// The targets section of the report, between [`TARGETS_BEGIN`] and [`TARGETS_END`].
pub fn targets_section(t: &Targets) -> String {
    let s = &t.summary;
    let mut h = String::from(TARGETS_BEGIN);
    h += "\n<h2>Target areas</h2>\n";
    let order = match s.rank_by {
        crate::config::RankBy::Score => "ranked by mean probability × √area",
        crate::config::RankBy::Greenfield => {
            "new ground first: targets without a known deposit, by mean probability × √area, then the others"
        }
    };
    h += &format!(
        "<p>{} areas of at least {} km² from the {} cells scoring at least {:.4} ({} = {}); {order}. {} of them \
         hold no known deposit (new ground). Also in <code>targets.gpkg</code> and <code>targets.csv</code>.</p>\n",
        t.targets.len(),
        s.min_area_km2,
        s.target_cells,
        s.threshold,
        s.rule,
        s.rule_value,
        s.greenfield
    );
    h += "<table id=\"targets\"><tr><th>rank</th><th>area km²</th><th>mean prob</th><th>max prob</th>\
          <th>mean uncertainty</th><th>known deposits</th><th>new ground</th><th>deposits inside</th>\
          <th>top evidence</th><th>centroid lon, lat</th></tr>\n";
    for x in &t.targets {
        let mut names = x.deposits.iter().take(NAMES_SHOWN).map(|n| esc(n)).collect::<Vec<_>>().join(", ");
        if x.deposits.len() > NAMES_SHOWN {
            names += &format!(" and {} more", x.deposits.len() - NAMES_SHOWN);
        }
        h += &format!(
            "<tr><td>{}</td><td>{:.2}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{:.4}, {:.4}</td></tr>\n",
            x.rank,
            x.area_km2,
            x.mean_prob,
            x.max_prob,
            x.mean_uncertainty.map_or("–".to_string(), |u| format!("{u:.3}")),
            x.known_deposits,
            if x.greenfield { "yes" } else { "no" },
            names,
            esc(&x.top_evidence),
            x.centroid_lonlat[0],
            x.centroid_lonlat[1]
        );
    }
    h += "</table>\n";
    h += TARGETS_END;
    h += "\n";
    h
}

/// The quicklook of a run (`quicklook.png`): the map at `map` in its area classes with
/// the deposits and the targets, 900 px on the longer side, with its cartography.
pub fn quicklook(
    settings: &crate::config::Settings,
    classes: &crate::styles::AreaClasses,
    map: &Path,
    deposits: &[[f64; 2]],
    targets: Option<&Targets>,
    path: &Path,
) -> Result<Vec<u8>> {
    let crs = settings.grid.info().crs;
    let metres = crate::io::units_are_metres(&settings.grid.crs_wkt);
    let frame = Frame { title: "Probability of a deposit, classes by area", crs: &crs, metres, max_px: 900 };
    map_png(map, &settings.grid, &frame, &Stretch::Classes(classes), deposits, targets, path)
}

/// Standard base64 (RFC 4648, with padding).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for k in 0..4 {
            if k <= chunk.len() {
                s.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Escapes text for HTML.
pub use crate::styles::esc;

pub use crate::metrics::HeldOut;

/// The headline figures, held-out first, as the console and the report print them
/// (the same text in both, from `metrics` alone).
pub fn headline(m: &crate::metrics::Metrics) -> Vec<String> {
    if m.evaluation.deposits_scored == 0 {
        return vec!["no deposits ([labels]): a knowledge-driven map, not evaluated".to_string()];
    }
    let mut lines = Vec::new();
    match &m.held_out {
        Some(h) => lines.push(format!(
            "held-out AUC {:.3} ± {:.3} ({} cross-validation, {} folds): how well the model ranks deposits it was not trained on",
            h.auc, h.auc_sd, h.kind, h.folds
        )),
        None => lines.push(
            "no held-out figure: the model was not cross-validated (set [validation] kind = \"spatial_block\")".to_string(),
        ),
    }
    let fuzzy = m.model_kind == crate::model::ModelKind::Fuzzy;
    let caveat = if fuzzy {
        "memberships set by hand, not fitted to the deposits"
    } else {
        "fitted: measured on the deposits the model was trained on, optimistic"
    };
    lines.push(format!("AUC on the map {:.3} ({caveat})", m.auc));
    let pick = |p: f64| m.capture.iter().find(|c| c.top_percent == p);
    if let (Some(a), Some(b)) = (pick(10.0), pick(20.0)) {
        lines.push(format!(
            "deposits in the best 10 % of the area: {} of {} ({:.1} %); in the best 20 %: {} ({:.1} %) ({})",
            a.deposits,
            m.evaluation.deposits_scored,
            100.0 * a.fraction,
            b.deposits,
            100.0 * b.fraction,
            if fuzzy { "on the map" } else { "fitted" }
        ));
    }
    lines
}

/// What the report shows.
pub struct ReportInput<'a> {
    /// The manifest (inputs, grid, versions, config).
    pub manifest: &'a Manifest,
    /// The metrics.
    pub metrics: &'a crate::metrics::Metrics,
    /// Targets, when drawn.
    pub targets: Option<&'a Targets>,
    /// PNG bytes: quicklook, ROC, success rate.
    pub images: [&'a [u8]; 3],
    /// The uncertainty picture and the name of its map, when the model writes one.
    pub uncertainty: Option<(&'a [u8], &'a str)>,
    /// Cross-validation pictures when the model was cross-validated: (id, caption, PNG).
    pub validation_images: Vec<(&'a str, &'a str, &'a [u8])>,
}

/// The self-contained HTML report.
pub fn html(r: &ReportInput) -> String {
    let m = r.metrics;
    let img = |bytes: &[u8], alt: &str, id: &str| {
        format!("<img id=\"{id}\" alt=\"{}\" src=\"data:image/png;base64,{}\">", esc(alt), base64(bytes))
    };
    let mut h = String::new();
    h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
    h += &format!("<title>lode report: {}</title>\n", esc(&m.project));
    h += "<style>body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:.5em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:left}\
th{background:#eee}code{font-size:12px}.figs img{margin:0 1em 1em 0;vertical-align:top;border:1px solid #ddd}</style>\n";
    h += "</head><body>\n";
    h += &format!("<h1>Prospectivity report: {}</h1>\n", esc(&m.project));
    h += &format!(
        "<p>lode {} with GDAL {}; config <code>{}</code> (SHA-256 <code>{}</code>); seed {}.</p>\n",
        esc(&m.lode_version),
        esc(&m.gdal_version),
        esc(&r.manifest.config_path.display().to_string()),
        esc(&m.config_sha256),
        r.manifest.seed
    );
    if m.synthetic {
        h += "<p id=\"synthetic\" style=\"background:#c0392b;color:#fff;padding:.6em 1em;font-weight:bold\">\
              SYNTHETIC EXAMPLE: the evidence layers were generated by <code>lode init --example</code>. \
              This map, its figures and its targets say nothing about the district.</p>\n";
    }
    h += "<h2>Headline</h2>\n<ul id=\"headline\">\n";
    for l in headline(m) {
        h += &format!("<li>{}</li>\n", esc(&l));
    }
    h += "</ul>\n";
    h += "<h2>Map</h2>\n<div class=\"figs\">";
    h += &img(r.images[0], "prospectivity map with deposits and target areas", "quicklook");
    if let Some((png, name)) = r.uncertainty {
        h += &format!(
            "<figure id=\"uncertainty-panel\" style=\"display:inline-block;margin:0;vertical-align:top;max-width:520px\">{}\
             <figcaption>How to read it: <code>{}</code> is {}. Where it is dark, the class on the map is least \
             certain: treat a high-scoring area that is also dark here as less certain than one that is pale, and \
             check its evidence before spending on it.</figcaption></figure>",
            img(png, "uncertainty map", "uncertainty"),
            esc(name),
            if name == "posterior_std.tif" {
                "the standard deviation of the posterior probability, from the variances of the weights"
            } else {
                "the spread of the probability between the models of the ensemble (for logistic regression, the \
                 cross-validation fold models): dark where they disagree, so where the map depends on which deposits \
                 trained it"
            }
        );
    }
    h += "</div>\n";
    h += "<p>Colours are classes by area: the best 1, 5, 10, 20 and 50 % of the scored area, each class \
          the cells scoring at least the value in the legend (the same classes as <code>prospectivity.qml</code>).</p>\n";

    h += "<h2>Validation</h2>\n";
    if m.evaluation.deposits_scored == 0 {
        h +=
            "<p id=\"no-deposits\">No deposits were given (no <code>[labels]</code>): this is a knowledge-driven map, \
              built from the memberships in the config alone, and it is not validated here. Add the known occurrences \
              as <code>[labels]</code> to measure its ROC AUC and success rate.</p>\n";
    }
    for w in &m.warnings {
        h += &format!("<p class=\"warning\" style=\"color:#a00\"><b>Warning:</b> {}</p>\n", esc(w));
    }
    if let Some(v) = &m.validation {
        h += &format!(
            "<p>Held-out (cross-validation, {}, {} folds): AUC <b>{:.4} ± {:.4}</b>. The prediction-rate curve and \
             the permutation importance are measured on the held-out folds.</p>\n<div class=\"figs\">",
            esc(v.kind.as_str()),
            v.folds,
            v.cv_auc,
            v.cv_auc_sd
        );
        for (id, alt, bytes) in &r.validation_images {
            h += &img(bytes, alt, id);
        }
        h += "</div>\n";
    }
    // Without deposits (no [labels]) there is nothing to measure the map against.
    if m.evaluation.deposits_scored > 0 {
        h += &format!(
            "<p>Fitted (on the map): ROC AUC {:.4} ({} deposits on scored cells against {} scored cells; measured on the \
             deposits the model was fitted to, so optimistic for data-driven models).</p>\n",
            m.auc, m.evaluation.deposits_scored, m.evaluation.scored_cells
        );
        h += "<table id=\"capture\"><tr><th>best share of the area</th><th>cells scoring at least</th>\
              <th>area actually taken</th><th>deposits inside</th><th>share of the deposits</th></tr>\n";
        for c in &m.capture {
            h += &format!(
                "<tr><td>{} %</td><td>{}</td><td>{:.2} %</td><td>{}</td><td>{:.1} %</td></tr>\n",
                c.top_percent,
                crate::styles::short(c.threshold),
                100.0 * c.area_fraction,
                c.deposits,
                100.0 * c.fraction
            );
        }
        h += "</table>\n";
        h += "<div class=\"figs\">";
        h += &img(r.images[1], "ROC curve", "roc");
        h += &img(r.images[2], "success-rate curve", "success-rate");
        h += "</div>\n";
    }
    if let Some(t) = r.targets {
        h += &targets_section(t);
    }

    h += "<h2>Model</h2>\n";
    h += &format!("<p>Kind: <b>{}</b>; {} feature columns.</p>\n", esc(m.model_kind.name()), m.features.len());
    if let Some(coefs) = m.model["coefficients_standardised"].as_object() {
        let mut c: Vec<(&String, f64)> = coefs.iter().map(|(k, v)| (k, v.as_f64().unwrap_or(0.0))).collect();
        c.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        h += "<table id=\"coefficients\"><tr><th>feature</th><th>standardised coefficient</th></tr>\n";
        for (k, v) in c.iter().take(15) {
            h += &format!("<tr><td>{}</td><td>{v:+.3}</td></tr>\n", esc(k));
        }
        h += "</table>\n";
        if c.len() > 15 {
            h += &format!("<p>… and {} more in <code>model.json</code>.</p>\n", c.len() - 15);
        }
    }
    let d = &m.deposits;
    h += &format!(
        "<p>Deposits: {} read, {} used in {} cells ({} outside the grid, {} outside the study area).</p>\n",
        d.read, d.used, d.cells, d.outside_grid, d.outside_study_area
    );

    h += "<h2>Grid</h2>\n";
    let g = &m.grid;
    h += &format!(
        "<p>{} × {} cells of {} in {}; bounds [{}, {}, {}, {}]. {} study-area cells, {} scored.</p>\n",
        g.cols,
        g.rows,
        g.cell_size,
        esc(&g.crs),
        g.bounds[0],
        g.bounds[1],
        g.bounds[2],
        g.bounds[3],
        m.prediction.study_area_cells,
        m.prediction.scored_cells
    );

    h += "<h2>Evidence coverage</h2>\n<table id=\"coverage\"><tr><th>layer</th><th>study-area cells with data</th><th>coverage</th></tr>\n";
    for c in &m.coverage {
        h += &format!(
            "<tr><td>{}</td><td>{} of {}</td><td>{:.1} %{}</td></tr>\n",
            esc(&c.name),
            c.covered_cells,
            c.study_area_cells,
            100.0 * c.fraction,
            c.constant.map(|v| format!(" (constant {v})")).unwrap_or_default()
        );
    }
    h += "</table>\n";

    h += "<h2>Inputs</h2>\n<table id=\"inputs\"><tr><th>config key</th><th>file</th><th>bytes</th><th>SHA-256</th></tr>\n";
    for i in &r.manifest.inputs {
        h += &format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>\n",
            esc(&i.key),
            esc(&i.path.display().to_string()),
            i.bytes,
            esc(&i.sha256)
        );
    }
    h += "</table>\n";
    h += "<h2>Stage timings</h2>\n<table><tr><th>stage</th><th>seconds</th></tr>\n";
    for (k, v) in &m.timings_s {
        h += &format!("<tr><td>{}</td><td>{v:.2}</td></tr>\n", esc(k));
    }
    h += "</table>\n</body></html>\n";
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_test_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn ramp_hits_its_stops() {
        assert_eq!(ramp(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(ramp(1.0), RGBColor(0xfd, 0xe7, 0x25));
        assert_eq!(ramp(0.4), RGBColor(0x2a, 0x78, 0x8e));
    }
}
