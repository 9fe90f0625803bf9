//! Issue 12, raw survey data straight in: each wall a new user hit gets a test that fails
//! without its fix.
//!
//! - no model silently worse than random: gradient boosting's automatic early stopping
//!   with 13 deposits switches itself off saying so; a held-out AUC below 0.5 is flagged
//!   in the summary, `metrics.json` and the report;
//! - honest map values: the logistic map is prior-corrected, so its values do not scale
//!   with the negative sampling (read back with `gdalinfo -stats`, an independent reader).

mod common;

use std::path::Path;

use common::*;

fn metrics(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
}

fn run_ok(config: &Path) -> String {
    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "lode run failed: {}", stderr(&o));
    String::from_utf8_lossy(&o.stdout).into_owned() + &stderr(&o)
}

const CLONCURRY_EVIDENCE: &str = r#"
[[evidence]]
name = "dist2breccia"
kind = "raster"
path = "DATA/Dist2Breccia.tif"

[[evidence]]
name = "faultdensity"
kind = "raster"
path = "DATA/FaultDensity.tif"
"#;

#[test]
fn gradient_boosting_with_13_deposits_switches_auto_early_stopping_off_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // 13 deposits, 800 negatives each: 10 413 rows, so `auto` early stopping would be on
    // and its 10 % split would hold out one deposit.
    let evidence = CLONCURRY_EVIDENCE.replace("DATA", cloncurry("").to_str().unwrap())
        + "\n[model]\nkind = \"gradient_boosting\"\n\n[validation]\nkind = \"spatial_block\"\nblock_size = 20000.0\n\n[targets]\nenabled = false\n";
    let text = cloncurry_config(
        &out,
        "where = \"FID < 13\"\nnegatives_per_positive = 800\nnegative_buffer = 500.0",
        &evidence,
    );
    let config = write(tmp.path(), "c.toml", &text);
    let log = run_ok(&config);
    let m = metrics(&out);
    assert_eq!(m["fit"]["training"]["positives"], 13, "{}", m["fit"]["training"]);
    let es = &m["fit"]["early_stopping"];
    assert_eq!(es["requested"], "auto", "{es}");
    assert!(es["rounds"].is_null(), "early stopping still on: {es}");
    assert_eq!(es["held_out_deposits"], 1, "{es}");
    let note = es["note"].as_str().expect("a note saying why");
    assert!(note.contains("switched off") && note.contains("13 deposit rows"), "{note}");
    // Said in metrics.json's warnings, the run's log and the report.
    assert!(m["warnings"].as_array().unwrap().iter().any(|w| w.as_str() == Some(note)), "{}", m["warnings"]);
    assert!(log.contains("early stopping switched off"), "{log}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("early stopping switched off"), "report lacks the warning");
    // Every one of the 100 rounds was fitted.
    assert_eq!(m["model"]["members"], 1);
    println!("pooled held-out AUC, 13 deposits, gradient boosting: {}", m["validation"]["pooled_auc"]);
}

#[test]
fn a_held_out_auc_below_one_half_is_flagged_in_the_summary_metrics_and_report() {
    // A 10 km square; the evidence is the distance to its east edge. Deposits lie in two
    // clusters, one at the east edge (low distance) and one at the west edge (high):
    // leaving a cluster out, the model learns the other cluster's side and ranks the
    // held-out deposits below their own negatives.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut points = Vec::new();
    for k in 0..6 {
        let y = 1000.0 + 1000.0 * k as f64;
        points.push(geojson_point(9750.0, y));
        points.push(geojson_point(250.0, y));
    }
    write(dir, "deposits.geojson", &geojson_collection(&points));
    let line = format!(
        r#"{{"type":"Feature","properties":{{}},"geometry":{{"type":"LineString","coordinates":[[{x},{y0}],[{x},{y1}]]}}}}"#,
        x = X0 + 10_000.0,
        y0 = Y1,
        y1 = Y1 - 10_000.0
    );
    write(dir, "edge.geojson", &geojson_collection(&[line]));
    let text = format!(
        r#"
[project]
name = "inverted"

[grid]
crs = "EPSG:7845"
bounds = [{X0}, {y0}, {x1}, {Y1}]
cell_size = 100.0

[labels]
path = "deposits.geojson"
negative_buffer = 300.0

[[evidence]]
name = "to_east_edge"
kind = "distance"
path = "edge.geojson"

[validation]
kind = "cluster"
cluster_distance = 2000.0

[targets]
enabled = false

[output]
dir = "out"
"#,
        y0 = Y1 - 10_000.0,
        x1 = X0 + 10_000.0,
    );
    let config = write(dir, "c.toml", &text);
    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = String::from_utf8_lossy(&o.stdout);
    let m = metrics(&dir.join("out"));
    let pooled = m["validation"]["pooled_auc"].as_f64().unwrap();
    assert!(pooled < 0.5, "the construction should be worse than random: {pooled}");
    let warnings: Vec<&str> = m["warnings"].as_array().unwrap().iter().filter_map(|w| w.as_str()).collect();
    let flagged = warnings.iter().find(|w| w.contains("worse than random") && w.contains("pooled")).copied();
    let flagged = flagged.unwrap_or_else(|| panic!("no flag in metrics.json: {warnings:?}"));
    assert!(flagged.contains(&format!("{pooled:.3}")), "{flagged}");
    assert!(summary.contains(&format!("WARNING: {flagged}")), "{summary}");
    let html = std::fs::read_to_string(dir.join("out/report.html")).unwrap();
    assert!(html.contains("worse than random: held-out AUC pooled"), "report lacks the flag");
}

/// Mean and maximum of `prospectivity.tif` by `gdalinfo -stats` (full precision: the
/// `STATISTICS_*` metadata, not the rounded JSON fields).
fn map_mean(out: &Path) -> (f64, f64) {
    let info = gdalinfo(&out.join("prospectivity.tif"), &["-stats"]);
    let md = &info["bands"][0]["metadata"][""];
    let get = |k: &str| md[k].as_str().unwrap_or_else(|| panic!("{k} missing: {md}")).parse::<f64>().unwrap();
    (get("STATISTICS_MEAN"), get("STATISTICS_MAXIMUM"))
}

#[test]
fn logistic_map_values_are_prior_corrected_and_do_not_scale_with_the_negative_sampling() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = CLONCURRY_EVIDENCE.replace("DATA", cloncurry("").to_str().unwrap())
        + "\n[targets]\nenabled = false\n\n[output]\nreport = false\n";
    let evidence = evidence.replace("\n[output]\nreport = false\n", "");
    let mut means = Vec::new();
    for ratio in [10, 100] {
        let out = tmp.path().join(format!("out{ratio}"));
        let text = cloncurry_config(&out, &format!("negatives_per_positive = {ratio}"), &evidence);
        run_ok(&write(tmp.path(), &format!("c{ratio}.toml"), &text));
        let m = metrics(&out);
        let (mean, max) = map_mean(&out);
        let scored = m["prediction"]["scored_cells"].as_f64().unwrap();
        let positives = m["fit"]["training"]["positives"].as_f64().unwrap();
        println!(
            "{ratio} negatives per deposit: map mean {mean}, expected deposit cells {} of {positives}",
            mean * scored
        );
        assert!(max <= 1.0 && mean > 0.0);
        // Calibrated in the large: a logistic fit with an intercept matches the deposit
        // count on its sample, and the correction carries that to the study area.
        assert!((mean * scored - positives).abs() < 0.1 * positives, "{ratio}: {} vs {positives}", mean * scored);
        let pc = &m["model"]["prior_correction"];
        assert!(
            (pc["population_share"].as_f64().unwrap()
                - positives / m["prediction"]["study_area_cells"].as_f64().unwrap())
            .abs()
                < 1e-12,
            "{pc}"
        );
        assert!(m["model"]["map_values"].as_str().unwrap().contains("prior-corrected"), "{}", m["model"]);
        means.push(mean);
    }
    // Uncorrected, the mean falls about tenfold from 10 to 100 negatives per deposit.
    let ratio = means[0] / means[1];
    assert!(ratio > 0.67 && ratio < 1.5, "map mean {} at 10 negatives per deposit, {} at 100", means[0], means[1]);
}
