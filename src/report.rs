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

/// The quicklook of `map`: the map (reduced to at most `max_px` on its longer side),
/// deposits as white dots, target outlines in red with the ranks of the ten best.
pub fn quicklook(
    map: &Path,
    grid: &Grid,
    deposits: &[[f64; 2]],
    targets: Option<&Targets>,
    max_px: usize,
    path: &Path,
) -> Result<Vec<u8>> {
    register_font();
    let scale = (max_px as f64 / grid.cols.max(grid.rows) as f64).min(1.0);
    let (w, h) =
        (((grid.cols as f64 * scale).round() as usize).max(1), ((grid.rows as f64 * scale).round() as usize).max(1));
    let (values, valid) = crate::io::cog::read_reduced(map, w, h)?;
    // The ramp spans 0 to the largest value (at most 1): prior-corrected probabilities of
    // rare deposits are small.
    let top_value = values.iter().zip(&valid).filter(|(_, &ok)| ok).fold(0f64, |m, (&v, _)| m.max(v as f64));
    let top_value = if top_value > 0.0 && top_value < 1.0 { top_value } else { 1.0 };
    let (top, bottom, side) = (34u32, 56u32, 12u32);
    let (width, height) = (w as u32 + 2 * side, h as u32 + top + bottom);
    let mut buf = vec![255u8; (width * height * 3) as usize];
    let err = draw_err(path);
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
        for r in 0..h {
            for c in 0..w {
                let i = r * w + c;
                let color = if valid[i] { ramp(values[i] as f64 / top_value) } else { RGBColor(235, 235, 235) };
                root.draw_pixel((side as i32 + c as i32, top as i32 + r as i32), &color)
                    .map_err(|e| err(e.to_string()))?;
            }
        }
        let [x0, dx, _, y0, _, dy] = grid.geo_transform;
        let px = |x: f64, y: f64| -> (i32, i32) {
            (side as i32 + ((x - x0) / dx * scale) as i32, top as i32 + ((y - y0) / dy * scale) as i32)
        };
        if let Some(t) = targets {
            for target in t.targets.iter().rev() {
                let ring: Vec<(i32, i32)> = target.polygon.exterior().0.iter().map(|p| px(p.x, p.y)).collect();
                root.draw(&PathElement::new(ring, RED.stroke_width(1))).map_err(|e| err(e.to_string()))?;
            }
        }
        for p in deposits {
            let (x, y) = px(p[0], p[1]);
            root.draw(&Circle::new((x, y), 2, WHITE.filled())).map_err(|e| err(e.to_string()))?;
            root.draw(&Circle::new((x, y), 2, BLACK.stroke_width(1))).map_err(|e| err(e.to_string()))?;
        }
        let label = ("sans-serif", 13).into_font().color(&BLACK);
        if let Some(t) = targets {
            for target in t.targets.iter().take(10) {
                let (x, y) = px(target.centroid[0], target.centroid[1]);
                root.draw(&Text::new(format!("{}", target.rank), (x + 3, y - 6), label.clone()))
                    .map_err(|e| err(e.to_string()))?;
            }
        }
        let title = ("sans-serif", 15).into_font().color(&BLACK);
        root.draw(&Text::new("Probability of a deposit", (side as i32, 9), title)).map_err(|e| err(e.to_string()))?;
        // Colour bar.
        let bar_y = (top + h as u32 + 10) as i32;
        let bar_w = (w as i32).min(300);
        for i in 0..bar_w {
            let c = ramp(i as f64 / (bar_w - 1).max(1) as f64);
            root.draw(&Rectangle::new([(side as i32 + i, bar_y), (side as i32 + i + 1, bar_y + 10)], c.filled()))
                .map_err(|e| err(e.to_string()))?;
        }
        let small = ("sans-serif", 12).into_font().color(&BLACK);
        for v in [0.0, 0.5, 1.0] {
            let s = if top_value == 1.0 { format!("{v}") } else { format!("{:.2e}", v * top_value) };
            let x = side as i32 + (v * (bar_w - 1) as f64) as i32 - 4;
            root.draw(&Text::new(s, (x, bar_y + 13), small.clone())).map_err(|e| err(e.to_string()))?;
        }
        root.draw(&Text::new("o deposits   red: target areas (rank)", (side as i32, bar_y + 28), small))
            .map_err(|e| err(e.to_string()))?;
        root.present().map_err(|e| err(e.to_string()))?;
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
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// What the report shows.
pub struct ReportInput<'a> {
    /// The manifest (inputs, grid, versions, config).
    pub manifest: &'a Manifest,
    /// The metrics.
    pub metrics: &'a crate::Metrics,
    /// Targets, when drawn.
    pub targets: Option<&'a Targets>,
    /// PNG bytes: quicklook, ROC, success rate.
    pub images: [&'a [u8]; 3],
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
    h += "<h2>Map</h2>\n<div class=\"figs\">";
    h += &img(r.images[0], "prospectivity map with deposits and target areas", "quicklook");
    h += "</div>\n";

    h += "<h2>Validation</h2>\n";
    for w in &m.warnings {
        h += &format!("<p class=\"warning\" style=\"color:#a00\"><b>Warning:</b> {}</p>\n", esc(w));
    }
    let at = |area: f64| m.success_rate.iter().filter(|p| p[0] <= area).map(|p| p[1]).fold(0.0, f64::max);
    h += &format!(
        "<p>ROC AUC <b>{:.4}</b> ({} deposits on scored cells against {} scored cells; measured on the deposits the model \
         was fitted to, so optimistic for data-driven models). {:.0}% of the deposits lie in the best 10% of the area, \
         {:.0}% in the best 20%.</p>\n",
        m.auc,
        m.evaluation.deposits_scored,
        m.evaluation.scored_cells,
        100.0 * at(0.1),
        100.0 * at(0.2)
    );
    h += "<div class=\"figs\">";
    h += &img(r.images[1], "ROC curve", "roc");
    h += &img(r.images[2], "success-rate curve", "success-rate");
    h += "</div>\n";
    if let Some(v) = &m.validation {
        h += &format!(
            "<p>Cross-validation ({}, {} folds): held-out AUC <b>{:.4} ± {:.4}</b>. The prediction-rate curve and \
             the permutation importance are measured on the held-out folds.</p>\n<div class=\"figs\">",
            esc(v["kind"].as_str().unwrap_or("?")),
            v["folds"],
            v["cv_auc"].as_f64().unwrap_or(f64::NAN),
            v["cv_auc_sd"].as_f64().unwrap_or(f64::NAN)
        );
        for (id, alt, bytes) in &r.validation_images {
            h += &img(bytes, alt, id);
        }
        h += "</div>\n";
    }

    if let Some(t) = r.targets {
        let s = &t.summary;
        h += "<h2>Target areas</h2>\n";
        h += &format!(
            "<p>{} areas of at least {} km² from the {} cells scoring at least {:.4} ({} = {}); ranked by \
             mean probability × √area. Also in <code>targets.gpkg</code> and <code>targets.csv</code>.</p>\n",
            t.targets.len(),
            s.min_area_km2,
            s.target_cells,
            s.threshold,
            s.rule,
            s.rule_value
        );
        h += "<table id=\"targets\"><tr><th>rank</th><th>area km²</th><th>mean prob</th><th>max prob</th>\
              <th>mean uncertainty</th><th>deposits inside</th><th>top evidence</th><th>centroid x, y</th></tr>\n";
        for x in &t.targets {
            h += &format!(
                "<tr><td>{}</td><td>{:.2}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.0}, {:.0}</td></tr>\n",
                x.rank,
                x.area_km2,
                x.mean_prob,
                x.max_prob,
                x.mean_uncertainty.map_or("–".to_string(), |u| format!("{u:.3}")),
                x.deposits_inside,
                esc(&x.top_evidence),
                x.centroid[0],
                x.centroid[1]
            );
        }
        h += "</table>\n";
    }

    h += "<h2>Model</h2>\n";
    h += &format!(
        "<p>Kind: <b>{}</b>; {} feature columns.</p>\n",
        esc(m.model["kind"].as_str().unwrap_or("?")),
        m.features.len()
    );
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
