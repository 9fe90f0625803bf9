//! `lode targets RUN_DIR`: redraws the target areas of a finished run at another
//! threshold without fitting or predicting again. The run's `manifest.json` gives the
//! resolved config, `model.json` the fitted model (for the `top_evidence` of each
//! target) and `prospectivity.tif` the map; the evidence layers are opened again for
//! the targets' feature means. Rewritten, together and atomically: `targets.gpkg`,
//! `targets.csv`, `targets.qml` (and `targets.geojson` when the run wrote one),
//! `quicklook.png` (its outlines), the targets section and the quicklook of
//! `report.html`, `targets` of `metrics.json`, and in `manifest.json` the `[targets]`
//! of the config, the outputs' checksums and a `redraws` entry. The result is the one a
//! fresh run with those `[targets]` settings gives (a test compares them).

use std::path::{Path, PathBuf};

use crate::config::{RawConfig, Settings};
use crate::error::{Error, Result};
use crate::features::FeatureStack;
use crate::labels::Deposits;
use crate::{manifest, output, report, stac, styles, targets};

/// Which cells make target cells in a redraw.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    /// The best `top_percent` % of the scored area.
    TopPercent(f64),
    /// Cells scoring at least this.
    Probability(f64),
}

/// What a redraw wrote.
#[derive(Debug, Clone)]
pub struct Redrawn {
    /// The new targets.
    pub targets: targets::Targets,
    /// Files rewritten, at their final names.
    pub outputs: Vec<PathBuf>,
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::input(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::input(path, format!("not JSON: {e}")))
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| Error::output(path, e))
}

/// Redraws the targets of the run in `run_dir` with `rule` and, when given, `min_area_km2`.
pub fn redraw(run_dir: &Path, rule: Rule, min_area_km2: Option<f64>) -> Result<Redrawn> {
    let manifest_path = run_dir.join("manifest.json");
    let mut manifest = read_json(&manifest_path)?;
    let toml_text = manifest["config_toml"]
        .as_str()
        .ok_or_else(|| Error::input(&manifest_path, "has no `config_toml`: not a lode run's manifest"))?
        .to_string();
    let mut raw: RawConfig = {
        let bad = |e: toml::de::Error| Error::input(&manifest_path, format!("config_toml: {e}"));
        let mut table: toml::Table = toml::from_str(&toml_text).map_err(bad)?;
        crate::features::spec::drop_legacy_defaults(&mut table);
        toml::Value::Table(table).try_into().map_err(bad)?
    };
    match rule {
        Rule::TopPercent(p) => {
            if !(p > 0.0 && p <= 100.0) {
                return Err(Error::InvalidArgument {
                    name: "top percent".into(),
                    value: p.to_string(),
                    message: "is outside (0, 100]".into(),
                });
            }
            raw.targets.top_percent = Some(p);
            raw.targets.probability = None;
        }
        Rule::Probability(p) => {
            if !p.is_finite() {
                return Err(Error::InvalidArgument {
                    name: "probability".into(),
                    value: p.to_string(),
                    message: "is not a number".into(),
                });
            }
            raw.targets.probability = Some(p);
            raw.targets.top_percent = None;
        }
    }
    if let Some(a) = min_area_km2 {
        if !(a >= 0.0 && a.is_finite()) {
            return Err(Error::InvalidArgument {
                name: "minimum target area in km²".into(),
                value: a.to_string(),
                message: "must be an area >= 0".into(),
            });
        }
        raw.targets.min_area_km2 = a;
    }
    raw.targets.enabled = true;
    raw.output.dir = run_dir.to_path_buf();
    let sha = manifest["config_sha256"].as_str().unwrap_or_default().to_string();
    let config_path = PathBuf::from(manifest["config_path"].as_str().unwrap_or("manifest.json"));
    let settings = Settings::from_raw(raw.clone(), run_dir, &config_path, sha)?;

    let model_path = run_dir.join("model.json");
    let text = std::fs::read_to_string(&model_path).map_err(|e| Error::input(&model_path, e))?;
    let model: crate::model::FittedModel =
        serde_json::from_str(&text).map_err(|e| Error::input(&model_path, format!("not a lode model.json: {e}")))?;
    let stack = FeatureStack::prepare(&settings)?;
    let deposits = Deposits::load(&settings)?;
    let map = run_dir.join("prospectivity.tif");
    if !map.exists() {
        return Err(Error::input(&map, "is missing: `lode targets` needs the map of a finished run"));
    }
    let maps: Vec<PathBuf> = ["prospectivity.tif", "uncertainty.tif", "posterior_std.tif"]
        .iter()
        .map(|n| run_dir.join(n))
        .filter(|p| p.exists())
        .collect();
    let map = crate::io::cog::MapRaster::open(&map, &settings.grid)?;
    let uncertainty = match targets::uncertainty_map(&maps) {
        Some(path) => Some(crate::io::cog::MapRaster::open(&path, &settings.grid)?),
        None => None,
    };

    let mut out = output::Staging::new(run_dir)?;
    let scratch = out.scratch("targets-mask.tif");
    let t = targets::find_targets(&settings, &stack, &model, &deposits, &map, uncertainty.as_ref(), &scratch)?;
    let geojson =
        (settings.targets.geojson || run_dir.join("targets.geojson").exists()).then(|| out.path("targets.geojson"));
    targets::write_vector(&t, &settings.grid, &out.path("targets.gpkg"), geojson.as_deref())?;
    write_file(&out.path("targets.csv"), targets::to_csv(&t).as_bytes())?;
    write_file(&out.path("targets.qml"), styles::targets_qml().as_bytes())?;

    let metrics_path = run_dir.join("metrics.json");
    let mut metrics = read_json(&metrics_path)?;
    metrics["targets"] = serde_json::to_value(&t.summary).map_err(|e| Error::output(&metrics_path, e))?;
    out.write_json("metrics.json", &metrics)?;

    let report_path = run_dir.join("report.html");
    if report_path.exists() {
        let classes = styles::AreaClasses::of_map(&map, &settings.grid)?;
        let ql_path = out.path("quicklook.png");
        let ql = report::quicklook(&settings, &classes, map.path(), &deposits.points, Some(&t), &ql_path)?;
        write_file(&ql_path, &ql)?;
        let page = std::fs::read_to_string(&report_path).map_err(|e| Error::input(&report_path, e))?;
        let page = replace_between(&page, report::TARGETS_BEGIN, report::TARGETS_END, &report::targets_section(&t))
            .ok_or_else(|| Error::input(&report_path, "has no targets section to replace"))?;
        let prefix = "<img id=\"quicklook\"";
        let src = "src=\"data:image/png;base64,";
        let page = page
            .find(prefix)
            .and_then(|i| page[i..].find(src).map(|j| i + j + src.len()))
            .and_then(|start| page[start..].find('"').map(|len| (start, start + len)))
            .map(|(a, b)| format!("{}{}{}", &page[..a], report::base64(&ql), &page[b..]))
            .ok_or_else(|| Error::input(&report_path, "has no embedded quicklook to replace"))?;
        write_file(&out.path("report.html"), page.as_bytes())?;
    }

    // The STAC item: the same outputs, fresh checksums, the run's date kept.
    let item_path = run_dir.join(stac::ITEM_PATH);
    if let Ok(old) = read_json(&item_path) {
        let datetime = old["properties"]["datetime"].as_str().unwrap_or_default().to_string();
        let staged = out.staged();
        let files: Vec<(String, PathBuf)> = manifest["outputs"]
            .as_array()
            .map(|list| list.iter().filter_map(|o| o[0].as_str().map(String::from)).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|n| {
                let p = staged.iter().find(|s| s.0 == n).map_or_else(|| run_dir.join(&n), |s| s.1.clone());
                (n, p)
            })
            .collect();
        stac::write(&settings, &files, &datetime, &out.path(stac::ITEM_PATH))?;
    }

    // The manifest: the config as it now stands, fresh checksums, and what was redrawn.
    let config = manifest::absolute_config(&settings.resolved);
    manifest["config"] = serde_json::to_value(&config).map_err(|e| Error::output(&manifest_path, e))?;
    manifest["config_toml"] =
        serde_json::Value::String(toml::to_string(&config).map_err(|e| Error::output(&manifest_path, e))?);
    let staged = out.staged();
    if let Some(list) = manifest["outputs"].as_array_mut() {
        for (name, p) in &staged {
            let sum = manifest::sha256_file(p)?.1;
            match list.iter_mut().find(|o| o[0].as_str() == Some(name.as_str())) {
                Some(o) => o[1] = serde_json::Value::String(sum),
                None => list.push(serde_json::json!([name, sum])),
            }
        }
    }
    let entry = serde_json::json!({
        "lode_version": crate::metrics::VERSION,
        "targets": config.targets,
        "summary": t.summary,
        "rewrote": staged.iter().map(|s| s.0.clone()).collect::<Vec<_>>(),
    });
    match manifest["redraws"].as_array_mut() {
        Some(list) => list.push(entry),
        None => manifest["redraws"] = serde_json::json!([entry]),
    }
    out.write_json("manifest.json", &manifest)?;
    // The maps and everything else of the run stay: the new set is the old one with the
    // redrawn files in place.
    out.carry_over_previous()?;
    let outputs = out.commit()?;
    Ok(Redrawn { targets: t, outputs })
}

/// `text` with what lies from `begin` to `end` (both included) replaced by `with`.
fn replace_between(text: &str, begin: &str, end: &str, with: &str) -> Option<String> {
    let a = text.find(begin)?;
    let b = text[a..].find(end)? + a + end.len();
    let b = if text[b..].starts_with('\n') { b + 1 } else { b };
    Some(format!("{}{}{}", &text[..a], with, &text[b..]))
}
