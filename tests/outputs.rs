//! What a geologist takes away from `lode run` on the Cloncurry demo: ranked target
//! areas, QGIS styles and the run manifest, checked with independent readers (GDAL's
//! `ogrinfo`, GDAL's Python bindings, `sha256sum`, an XML parser). The demo runs once
//! for the whole file.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;

/// The demo config with absolute input paths, output into `out`, and `extra` appended.
fn demo_config(dir: &Path, out: &Path, extra: &str) -> PathBuf {
    shipped_config(dir, "cloncurry.toml", out, extra)
}

/// Runs `tests/peers/targets_check.py` (GDAL's Python bindings) on the targets of `out`,
/// with the uncertainty map `uncertainty` when given; returns its JSON report.
fn targets_check(out: &Path, uncertainty: Option<&str>) -> String {
    let script = root().join("tests/peers/targets_check.py");
    let mut args = vec![
        script.to_string_lossy().into_owned(),
        out.join("targets.gpkg").to_string_lossy().into_owned(),
        out.join("prospectivity.tif").to_string_lossy().into_owned(),
        cloncurry("IOCG_Deposits.shp").to_string_lossy().into_owned(),
    ];
    args.extend(uncertainty.map(|u| out.join(u).to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    tool("/usr/bin/python3", &args)
}

/// The output folder of one demo run (with GeoJSON targets), shared by the tests.
fn demo() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        // Under target/ (not a temp dir that a static would never remove): replaced by
        // every run, removed by `cargo clean`.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("outputs-demo");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out");
        let config = demo_config(&dir, &out, "\n[targets]\ntop_percent = 5.0\ngeojson = true\n");
        let o = lode(&["run", config.to_str().unwrap()]);
        assert!(o.status.success(), "lode run failed: {}", stderr(&o));
        out
    })
}

/// QGIS styles start with a DOCTYPE; allow it (no external entity is fetched).
fn xml_options() -> roxmltree::ParsingOptions {
    roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn targets_gpkg_has_the_documented_fields_and_ranks_one_to_n_by_score() {
    let out = demo();
    let gpkg = out.join("targets.gpkg");
    let info = tool("ogrinfo", &["-so", gpkg.to_str().unwrap(), "targets"]);
    for field in [
        "rank: Integer64",
        "score: Real",
        "area_km2: Real",
        "cells: Integer64",
        "mean_prob: Real",
        "max_prob: Real",
        "mean_uncertainty: Real",
        "known_deposits: Integer64",
        "top_evidence: String",
        "centroid_x: Real",
        "centroid_y: Real",
    ] {
        assert!(info.contains(field), "no `{field}` in\n{info}");
    }
    assert!(info.contains("Geometry: Polygon"), "{info}");
    assert!(info.contains("ID[\"EPSG\",7845]"), "targets are in the grid CRS: {info}");

    let metrics = json(&out.join("metrics.json"));
    let t = &metrics["targets"];
    let n_kept = t["polygons"].as_u64().unwrap() - t["dropped_small"].as_u64().unwrap();
    assert!(n_kept >= 5, "{t}");
    assert!(info.contains(&format!("Feature Count: {n_kept}")), "{info}");
    // The threshold is exactly the k-th largest score, k = ceil(5 % of the scored cells):
    // numpy sorts the whole map as the reference.
    let script = "import sys, json, numpy as np\nfrom osgeo import gdal\n\
        d = gdal.Open(sys.argv[1])\nb = d.GetRasterBand(1)\na = b.ReadAsArray()\n\
        v = a[b.GetMaskBand().ReadAsArray() != 0]\nk = int(np.ceil(v.size * 0.05))\n\
        t = np.sort(v)[::-1][k - 1]\n\
        print(json.dumps([v.size, k, float(t), int((v >= t).sum())]))";
    let peer: Vec<f64> = serde_json::from_str(&tool(
        "/usr/bin/python3",
        &["-c", script, out.join("prospectivity.tif").to_str().unwrap()],
    ))
    .unwrap();
    assert_eq!(metrics["prediction"]["scored_cells"].as_f64().unwrap(), peer[0]);
    assert_eq!(t["scored_cells"].as_f64().unwrap(), peer[0]);
    assert_eq!(t["threshold"].as_f64().unwrap(), peer[2], "threshold is the exact k-th largest score");
    assert_eq!(t["target_cells"].as_f64().unwrap(), peer[3], "cells >= threshold (ties included)");

    let csv = std::fs::read_to_string(out.join("targets.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "rank,score,area_km2,cells,mean_prob,max_prob,mean_uncertainty,known_deposits,greenfield,deposits,top_evidence,centroid_x,centroid_y,centroid_lon,centroid_lat"
    );
    let rows: Vec<Vec<String>> = lines.map(csv_fields).collect();
    assert_eq!(rows.len() as u64, n_kept);
    let mut last = f64::INFINITY;
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[0], (i + 1).to_string(), "ranks are 1..N in order");
        let score: f64 = r[1].parse().unwrap();
        let area: f64 = r[2].parse().unwrap();
        let mean: f64 = r[4].parse().unwrap();
        assert!(score <= last, "rank {} scores {score} above rank {i}", i + 1);
        assert!((score - mean * area.sqrt()).abs() < 1e-9 * score.max(1.0), "score = mean_prob * sqrt(area)");
        assert!(area >= 1.0, "areas under min_area_km2 are dropped: {area}");
        let u: f64 = r[6].parse().expect("the cross-validated logistic model maps its fold models' spread");
        assert!(u >= 0.0, "{u}");
        let known: usize = r[7].parse().unwrap();
        assert_eq!(r[8], if known == 0 { "1" } else { "0" }, "greenfield is no known deposit inside");
        let names = if r[9].is_empty() { 0 } else { r[9].split("; ").count() };
        assert_eq!(names, known, "one name per known deposit: {:?}", r[9]);
        last = score;
    }
    // The logistic model explains targets by its layers' contributions, a class layer by
    // the class of its largest term (`stratno=<code>`).
    assert!(rows[0][10].starts_with("stratno=") && rows[0][10].contains(" (+"), "{:?}", rows[0]);
}

#[test]
fn every_target_lies_above_the_threshold_and_its_statistics_match_gdal() {
    let out = demo();
    let metrics = json(&out.join("metrics.json"));
    let threshold = metrics["targets"]["threshold"].as_f64().unwrap();
    let report = targets_check(out, None);
    let targets: Vec<serde_json::Value> = serde_json::from_str(&report).unwrap();
    assert!(!targets.is_empty());
    let mut deposits = 0;
    for t in &targets {
        let f = |k: &str| t[k].as_f64().unwrap();
        assert_eq!(t["interior_is_nodata"], false, "interior point outside the study area: {t}");
        assert!(f("interior_value") >= threshold, "interior point below the threshold {threshold}: {t}");
        assert_eq!(t["nodata_cells"], 0, "a target holds an unscored cell: {t}");
        assert!((t["cells"].as_u64().unwrap() as f64 * 0.01 - f("area_km2")).abs() < 1e-9, "100 m cells: {t}");
        assert!((f("polygon_area_km2") - f("area_km2")).abs() < 1e-6, "{t}");
        assert!((f("mean_prob") - f("mean_prob_field")).abs() < 1e-9, "{t}");
        assert_eq!(f("max_prob"), f("max_prob_field"), "{t}");
        assert_eq!(t["deposits"], t["deposits_field"], "deposits inside by OGR Contains: {t}");
        assert_eq!(t["names"], t["names_field"], "the names of the deposits inside (labels.name_field): {t}");
        assert_eq!(t["greenfield_field"].as_i64() == Some(1), t["deposits"] == 0, "greenfield: {t}");
        for k in 0..2 {
            let (a, b) = (t["lonlat"][k].as_f64().unwrap(), t["lonlat_field"][k].as_f64().unwrap());
            assert!((a - b).abs() < 1e-9, "centroid lon/lat as OSR converts it: {t}");
        }
        deposits += t["deposits"].as_u64().unwrap();
    }
    assert!(deposits > 0, "some known deposits fall in the targets");
}

#[test]
fn targets_geojson_is_wgs84_and_has_the_same_features() {
    let out = demo();
    let gj = json(&out.join("targets.geojson"));
    let features = gj["features"].as_array().unwrap();
    let csv = std::fs::read_to_string(out.join("targets.csv")).unwrap();
    assert_eq!(features.len(), csv.lines().count() - 1);
    assert_eq!(features[0]["properties"]["rank"], 1);
    // Cloncurry, Queensland: about 140 E, 20-22 S.
    let ring = features[0]["geometry"]["coordinates"][0].as_array().unwrap();
    for p in ring {
        let (lon, lat) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
        assert!((139.0..142.0).contains(&lon) && (-23.0..-19.0).contains(&lat), "{lon} {lat}");
    }
}

#[test]
fn qgis_styles_are_well_formed_and_reference_the_band_and_fields() {
    let out = demo();
    let text = std::fs::read_to_string(out.join("prospectivity.qml")).unwrap();
    let doc =
        roxmltree::Document::parse_with_options(&text, xml_options()).expect("prospectivity.qml is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "qgis");
    let r = doc.descendants().find(|n| n.has_tag_name("rasterrenderer")).expect("a raster renderer");
    assert_eq!(r.attribute("type"), Some("singlebandpseudocolor"));
    assert_eq!(r.attribute("band"), Some("1"));
    assert_eq!(r.attribute("nodataColor"), Some(""), "nodata is transparent");
    let shader = doc.descendants().find(|n| n.has_tag_name("colorrampshader")).expect("a colour ramp shader");
    assert_eq!(shader.attribute("colorRampType"), Some("DISCRETE"), "classes by area");
    let stops: Vec<f64> = doc
        .descendants()
        .filter(|n| n.has_tag_name("item"))
        .map(|n| n.attribute("value").unwrap().parse().unwrap())
        .collect();
    assert!(stops.len() == 6 && stops.windows(2).all(|w| w[0] < w[1]), "{stops:?}");
    assert_eq!(*stops.last().unwrap(), f64::INFINITY, "the best class is open above");
    // Each class starts at the exact threshold of its share of the area (metrics.json
    // `capture`, checked against numpy below): the item below it ends one float32 under it.
    let metrics = json(&out.join("metrics.json"));
    let capture = metrics["capture"].as_array().unwrap();
    assert_eq!(capture.len(), 5);
    for (c, stop) in capture.iter().zip(stops.iter().rev().skip(1)) {
        let t = c["threshold"].as_f64().unwrap() as f32;
        assert_eq!(*stop, t.next_down() as f64, "{c}");
    }
    let top5 = capture.iter().find(|c| c["top_percent"] == 5.0).unwrap();
    assert_eq!(top5["threshold"], metrics["targets"]["threshold"], "the 5 % class is the 5 % targets' threshold");
    let text = std::fs::read_to_string(out.join("uncertainty.qml")).unwrap();
    let doc = roxmltree::Document::parse_with_options(&text, xml_options()).expect("uncertainty.qml is well-formed");
    let items = doc.descendants().filter(|n| n.has_tag_name("item")).count();
    assert!(items >= 2, "a ramp");
    let info = gdalinfo(&out.join("prospectivity.tif"), &[]);
    assert_eq!(info["bands"].as_array().unwrap().len(), 1, "band 1 is the only band");

    let text = std::fs::read_to_string(out.join("targets.qml")).unwrap();
    let doc = roxmltree::Document::parse_with_options(&text, xml_options()).expect("targets.qml is well-formed XML");
    assert_eq!(doc.root_element().tag_name().name(), "qgis");
    let r = doc.descendants().find(|n| n.has_tag_name("renderer-v2")).expect("a vector renderer");
    assert_eq!(r.attribute("type"), Some("graduatedSymbol"));
    assert_eq!(r.attribute("attr"), Some("rank"));
    let ranges: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("range")).collect();
    let symbols: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("symbol")).collect();
    assert_eq!(ranges.len(), symbols.len());
    assert_eq!(ranges[0].attribute("lower"), Some("0.5"), "rank 1 is in the first class");
    let label = doc.descendants().find(|n| n.has_tag_name("text-style")).expect("labels");
    assert_eq!(label.attribute("fieldName"), Some("rank"));
    let fields = tool("ogrinfo", &["-so", out.join("targets.gpkg").to_str().unwrap(), "targets"]);
    assert!(fields.contains("rank: "), "the styled field exists: {fields}");
}

#[test]
fn manifest_checksums_match_sha256sum_and_a_rerun_from_it_gives_the_same_map() {
    let out = demo();
    let m = json(&out.join("manifest.json"));
    assert_eq!(m["lode_version"], env!("CARGO_PKG_VERSION"));
    assert!(m["gdal_version"].as_str().unwrap().starts_with('3'));
    assert_eq!(m["seed"], 42);
    assert_eq!(m["grid"]["cols"], 1259);
    let stages: Vec<&str> = m["timings_s"].as_array().unwrap().iter().map(|t| t[0].as_str().unwrap()).collect();
    assert!(stages.contains(&"predict") && stages.contains(&"targets"), "{stages:?}");

    let inputs = m["inputs"].as_array().unwrap();
    let names: Vec<String> = inputs
        .iter()
        .map(|i| Path::new(i["path"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for part in [
        "IOCG_Deposits.shp",
        "IOCG_Deposits.shx",
        "IOCG_Deposits.dbf",
        "IOCG_Deposits.prj",
        "StratNo.tif",
        "Dist2Fault.tif",
    ] {
        assert!(names.iter().any(|n| n == part), "{part} missing from {names:?}");
    }
    for i in inputs {
        let path = i["path"].as_str().unwrap();
        assert!(Path::new(path).is_absolute(), "{path}");
        let line = tool("sha256sum", &[path]);
        assert_eq!(line.split_whitespace().next().unwrap(), i["sha256"].as_str().unwrap(), "{path}");
        assert_eq!(std::fs::metadata(path).unwrap().len(), i["bytes"].as_u64().unwrap());
    }
    let tif = out.join("prospectivity.tif");
    let line = tool("sha256sum", &[tif.to_str().unwrap()]);
    let listed = m["outputs"].as_array().unwrap().iter().find(|o| o[0] == "prospectivity.tif").unwrap();
    assert_eq!(line.split_whitespace().next().unwrap(), listed[1].as_str().unwrap());

    // Rerun from the manifest's config, written byte for byte into two folders with the
    // output folder made relative: both runs and the original map are byte-identical.
    let tmp = tempfile::tempdir().unwrap();
    let toml_text = m["config_toml"].as_str().unwrap();
    let out_line = format!("dir = \"{}\"", out.display());
    assert!(toml_text.contains(&out_line), "{toml_text}");
    let rerun = toml_text.replace(&out_line, "dir = \"out\"");
    let mut maps = Vec::new();
    for name in ["a", "b"] {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let config = write(&dir, "rerun.toml", &rerun);
        let o = lode(&["-q", "run", config.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        maps.push(dir.join("out/prospectivity.tif"));
    }
    assert!(std::fs::read(&maps[0]).unwrap() == std::fs::read(&maps[1]).unwrap(), "reruns differ");
    assert!(
        std::fs::read(&maps[0]).unwrap() == std::fs::read(&tif).unwrap(),
        "the rerun's map differs from the original"
    );
    let checksum = |p: &Path| gdalinfo(p, &["-checksum"])["bands"][0]["checksum"].clone();
    assert_eq!(checksum(&maps[0]), checksum(&tif));
    let stats = |p: &Path| {
        let b = gdalinfo(p, &["-stats"])["bands"][0].clone();
        (b["minimum"].clone(), b["maximum"].clone(), b["mean"].clone(), b["stdDev"].clone())
    };
    assert_eq!(stats(&maps[0]), stats(&tif));
    let rerun_targets = std::fs::read_to_string(maps[0].with_file_name("targets.csv")).unwrap();
    assert_eq!(rerun_targets, std::fs::read_to_string(out.join("targets.csv")).unwrap());
}

/// Runs headless Chromium (Debian's `chromium`) on `args`, returning its stdout.
fn chromium(args: &[&str]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let user_data = format!("--user-data-dir={}", profile.path().display());
    let mut all = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        user_data.as_str(),
    ];
    all.extend_from_slice(args);
    tool("chromium", &all)
}

/// Decodes a PNG into (width, height, RGB(A) bytes, channels).
fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>, usize) {
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf, info.color_type.samples())
}

/// Variance of the grey level of an image.
fn grey_variance(rgb: &[u8], channels: usize) -> f64 {
    let grey: Vec<f64> = rgb.chunks(channels).map(|p| (p[0] as f64 + p[1] as f64 + p[2] as f64) / 3.0).collect();
    let mean = grey.iter().sum::<f64>() / grey.len() as f64;
    grey.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / grey.len() as f64
}

/// Pixels of `rgb` (width `w`) in the box `[x0, x1) x [y0, y1)` of colour `c` (within `tol`).
fn count_colour(rgb: &[u8], ch: usize, w: u32, bx: [u32; 4], c: [u8; 3], tol: u8) -> usize {
    let mut n = 0;
    for y in bx[2]..bx[3] {
        for x in bx[0]..bx[1] {
            let o = ((y * w + x) as usize) * ch;
            if (0..3).all(|k| rgb[o + k].abs_diff(c[k]) <= tol) {
                n += 1;
            }
        }
    }
    n
}

fn hex(s: &str) -> [u8; 3] {
    let n = u32::from_str_radix(&s[1..], 16).unwrap();
    [(n >> 16) as u8, (n >> 8) as u8, n as u8]
}

#[test]
fn quicklook_has_its_cartography_and_curves_are_pngs_with_content() {
    let out = demo();
    let (w, h, rgb, ch) = decode_png(&std::fs::read(out.join("quicklook.png")).unwrap());
    // 1259 x 2487 cells reduced to 900 px on the long side, plus title, ticks, legend, scale.
    let map_w = w - lode::report::MAP_LEFT - 14 - lode::report::LEGEND_WIDTH;
    assert!(h > 900 && h < 1100 && (400..600).contains(&map_w), "{w} x {h}, map {map_w}");
    assert!(grey_variance(&rgb, ch) > 100.0, "the quicklook is not blank");
    // Target outlines are drawn in pure red.
    assert!(rgb.chunks(ch).filter(|p| p[0] == 255 && p[1] == 0 && p[2] == 0).count() > 500, "no target outline");
    let (left, top) = (lode::report::MAP_LEFT, lode::report::MAP_TOP);
    let map = [left, left + map_w, top, top + 900];
    let legend = [left + map_w + 14, w, top, h];
    let below = [left, left + map_w, top + 900 + 30, h];
    // Every area class is on the map, and its swatch in the legend.
    for c in lode::styles::CLASS_COLOURS {
        assert!(count_colour(&rgb, ch, w, map, hex(c), 0) > 100, "class {c} is not on the map");
        assert!(count_colour(&rgb, ch, w, legend, hex(c), 0) >= 100, "no legend swatch {c}");
    }
    // The north arrow (a filled black triangle) in the legend panel; the scale bar (black
    // and white halves in a black frame) under the map.
    assert!(count_colour(&rgb, ch, w, legend, [0, 0, 0], 40) > 150, "no north arrow / legend text");
    assert!(
        count_colour(&rgb, ch, w, [left, left + map_w, top + 905, top + 925], [0, 0, 0], 60) > 50,
        "no tick labels"
    );
    let bar = count_colour(&rgb, ch, w, below, [0, 0, 0], 0);
    assert!(bar > 100, "no scale bar: {bar} black pixels under the map");
    for name in ["roc.png", "success_rate.png", "uncertainty.png"] {
        let (_, _, rgb, ch) = decode_png(&std::fs::read(out.join(name)).unwrap());
        assert!(grey_variance(&rgb, ch) > 100.0, "{name} is blank");
    }
}

#[test]
fn report_html_renders_the_map_and_the_targets_table_in_chromium() {
    let out = demo();
    let page = out.join("report.html");
    let url = format!("file://{}", page.display());
    let dom = chromium(&["--dump-dom", &url]);
    let csv = std::fs::read_to_string(out.join("targets.csv")).unwrap();
    let n_targets = csv.lines().count() - 1;
    let table = dom.split("<table id=\"targets\">").nth(1).expect("the targets table is in the DOM");
    let table = table.split("</table>").next().unwrap();
    assert_eq!(table.matches("<tr>").count(), n_targets + 1, "one row per target plus the header");
    assert!(table.contains("<td>1</td>"), "rank 1 row");
    for id in ["quicklook", "uncertainty", "roc", "success-rate"] {
        let tag = dom.split(&format!("<img id=\"{id}\"")).nth(1).unwrap_or_else(|| panic!("no img {id}"));
        let src = tag.split("src=\"").nth(1).unwrap().split('"').next().unwrap();
        assert!(
            src.starts_with("data:image/png;base64,") && src.len() > 10_000,
            "img {id}: {}",
            &src[..40.min(src.len())]
        );
    }
    // The quicklook embedded in the page is the PNG written beside it.
    let ql = std::fs::read(out.join("quicklook.png")).unwrap();
    assert!(dom.contains(&lode::report::base64(&ql)), "embedded quicklook differs from quicklook.png");
    assert!(!page.with_file_name("report_files").exists() && !dom.contains("src=\"http"), "self-contained");

    // The headline leads with the held-out figure; the map's cartography is in the page.
    let headline = dom.split("<ul id=\"headline\">").nth(1).expect("a headline").split("</ul>").next().unwrap();
    assert!(headline.find("held-out AUC").unwrap() < headline.find("AUC on the map").unwrap(), "{headline}");
    let panel = dom.split("<figure id=\"uncertainty-panel\"").nth(1).expect("the uncertainty panel");
    assert!(panel.contains("How to read it"), "the panel says how to read it");
    let ql = std::fs::read(out.join("uncertainty.png")).unwrap();
    assert!(dom.contains(&lode::report::base64(&ql)), "embedded uncertainty differs from uncertainty.png");

    let shot = tempfile::tempdir().unwrap();
    let png_path = shot.path().join("shot.png");
    let arg = format!("--screenshot={}", png_path.display());
    chromium(&[&arg, "--window-size=1200,2800", &url]);
    let (w, h, rgb, ch) = decode_png(&std::fs::read(&png_path).unwrap());
    assert_eq!((w, h), (1200, 2800));
    assert!(grey_variance(&rgb, ch) > 200.0, "the screenshot is blank");
    // The map renders (its rest class, viridis purple, fills a good part of it), with its
    // legend swatches, and the uncertainty panel renders (its dark magenta end).
    let all = [0, w, 0, h];
    let purple = count_colour(&rgb, ch, w, all, hex(lode::styles::CLASS_COLOURS[5]), 6);
    assert!(purple > 50_000, "the map did not render: {purple} purple pixels");
    let best = count_colour(&rgb, ch, w, all, hex(lode::styles::CLASS_COLOURS[0]), 6);
    assert!(best > 1_000, "the best-1 % class did not render: {best}");
    let magenta =
        count_colour(&rgb, ch, w, all, hex("#dd3497"), 30) + count_colour(&rgb, ch, w, all, hex("#49006a"), 30);
    assert!(magenta > 500, "the uncertainty panel did not render: {magenta} magenta pixels");
}

#[test]
fn cloncurry_notebook_runs_headless_on_the_outputs() {
    let out = demo();
    let jupyter = root().join(".venv-notebook/bin/jupyter");
    assert!(jupyter.exists(), "{} is missing: run `make notebook-env` (make test does)", jupyter.display());
    let tmp = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(&jupyter)
        .args(["nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=300", "--output-dir"])
        .arg(tmp.path())
        .arg(root().join("notebooks/cloncurry.ipynb"))
        .env("LODE_OUT", out)
        .env("LODE_DEPOSITS", cloncurry("IOCG_Deposits.shp"))
        .current_dir(root().join("notebooks"))
        .output()
        .unwrap();
    assert!(o.status.success(), "the notebook failed:\n{}", stderr(&o));
    let executed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("cloncurry.ipynb")).unwrap()).unwrap();
    let text = executed.to_string();
    assert!(text.contains("input files verified"), "the last cell ran");
    assert!(out.join("notebook-map.png").exists(), "the notebook drew the map");
}

#[test]
fn weights_of_evidence_targets_carry_the_posterior_uncertainty() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let config =
        shipped_config(tmp.path(), "cloncurry-wofe.toml", &out, "\n[targets]\nprobability = 0.1\nmin_area_km2 = 0.5\n");
    let o = lode(&["-q", "run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let metrics = json(&out.join("metrics.json"));
    assert_eq!(metrics["targets"]["uncertainty_map"], "posterior_std.tif");
    assert_eq!(metrics["targets"]["rule"], "probability");
    assert_eq!(metrics["targets"]["threshold"].as_f64().unwrap() as f32, 0.1f32);
    let report = targets_check(&out, Some("posterior_std.tif"));
    let targets: Vec<serde_json::Value> = serde_json::from_str(&report).unwrap();
    assert!(!targets.is_empty());
    for t in &targets {
        let f = |k: &str| t[k].as_f64().unwrap();
        assert!(f("interior_value") >= 0.1f32 as f64, "{t}");
        assert!((f("mean_uncertainty") - f("mean_uncertainty_field")).abs() < 1e-9, "{t}");
        assert!((f("mean_prob") - f("mean_prob_field")).abs() < 1e-9, "{t}");
        assert_eq!(t["deposits"], t["deposits_field"], "{t}");
        // Class layers are explained by their over-represented class.
        assert!(t["top_evidence"].as_str().unwrap().contains('='), "{t}");
    }
}
