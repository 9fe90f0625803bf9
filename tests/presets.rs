//! The mineral-system presets: `lode init --preset NAME DIR` writes a config that parses,
//! and `lode validate` accepts it with its real USGS labels and `where` filter. No public
//! evidence layers exist for these districts, so the test writes stand-in layers on the
//! preset's grid first (tests/peers/standin_evidence.py); the deposit counts are checked
//! against `ogrinfo` with the same filter.

mod common;

use common::*;

const PRESETS: [&str; 4] = ["li-pegmatite", "li-brine-clay", "ree-carbonatite", "ree-ion-adsorption"];

/// The value of `key = "..."` in the `[labels]` table of a config text.
fn labels_value(text: &str, key: &str) -> String {
    let labels = text.split("[labels]").nth(1).unwrap().split("\n[").next().unwrap();
    let line = labels.lines().find(|l| l.starts_with(&format!("{key} ="))).unwrap();
    let v = line.split_once('=').unwrap().1.trim();
    v[1..v.len() - 1].replace("\\\"", "\"")
}

#[test]
fn every_preset_initialises_and_validates_with_its_real_labels() {
    for name in PRESETS {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(name);
        let o = lode(&["init", "--preset", name, dir.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let config = dir.join("lode.toml");
        let text = std::fs::read_to_string(&config).unwrap();
        assert_eq!(
            text,
            std::fs::read_to_string(root().join(format!("data/presets/{name}.toml")))
                .unwrap()
                .replace("\"../deposits-usgs/", "\"deposits/")
        );
        // Validation fails while the evidence is missing, listing every missing file at once.
        let o = lode(&["validate", config.to_str().unwrap()]);
        assert!(!o.status.success());
        let raw: toml::Value = toml::from_str(&text).unwrap();
        let evidence = raw["evidence"].as_array().unwrap();
        for (i, ev) in evidence.iter().enumerate() {
            // `lode validate` lists every problem at once: each missing file by its key and path.
            let file =
                std::path::Path::new(ev["path"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned();
            let line = format!("`evidence[{i}].path`: file ");
            let listed = stderr(&o).lines().any(|l| l.contains(&line) && l.contains(&file));
            assert!(listed, "{name}: `{line}{file}` is not listed: {}", stderr(&o));
        }
        assert!(stderr(&o).contains(&format!("{} problems", evidence.len())), "{}", stderr(&o));
        assert!(dir.join("README.md").exists(), "{name}: the preset's README is written beside the config");

        tool(
            "/usr/bin/python3",
            &[root().join("tests/peers/standin_evidence.py").to_str().unwrap(), config.to_str().unwrap()],
        );
        let o = lode(&["validate", config.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        let line = stdout.lines().find(|l| l.trim_start().starts_with("deposits:")).unwrap();
        let nums: Vec<u64> = line.split(|c: char| !c.is_ascii_digit()).filter_map(|s| s.parse().ok()).collect();
        let (read, used) = (nums[0], nums[1]);
        assert!(used >= 5, "{name}: too few deposits in the district: {line}");

        // ogrinfo counts the same points with the same filter.
        let labels = dir.join(labels_value(&text, "path"));
        let filter = labels_value(&text, "where");
        let info = tool("ogrinfo", &["-ro", "-so", "-al", "-where", &filter, labels.to_str().unwrap()]);
        let count: u64 = info.lines().find_map(|l| l.strip_prefix("Feature Count: ")).unwrap().trim().parse().unwrap();
        assert_eq!(read, count, "{name}: `{filter}`");

        // Another init into the same folder refuses to overwrite.
        let o = lode(&["init", "--preset", name, dir.to_str().unwrap()]);
        assert!(!o.status.success() && stderr(&o).contains("exists already"), "{name}");
    }
}

#[test]
fn every_preset_with_example_runs_end_to_end_and_says_it_is_synthetic() {
    for name in PRESETS {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(name);
        let o = lode(&["init", "--preset", name, dir.to_str().unwrap(), "--example"]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
        let config = dir.join("lode.toml");
        assert!(std::fs::read_to_string(&config).unwrap().contains("synthetic = true"), "{name}");
        assert!(std::fs::read_to_string(dir.join("evidence/SYNTHETIC.md")).unwrap().contains("SYNTHETIC"), "{name}");
        let o = lode(&["run", config.to_str().unwrap()]);
        assert!(o.status.success(), "{name}: lode run on the example: {}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("SYNTHETIC EXAMPLE"), "{name}: the console says so");
        let out = dir.join("out");
        let info = gdalinfo(&out.join("prospectivity.tif"), &[]);
        assert_eq!(info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"], "COG", "{name}");
        let report = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(report.contains("<p id=\"synthetic\""), "{name}: the report says the example is synthetic");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(out.join("metrics.json")).unwrap())
                .unwrap()["synthetic"],
            true
        );
        // Every generated file says what it is: rasters in their metadata, vectors in a field.
        for e in std::fs::read_dir(dir.join("evidence")).unwrap() {
            let p = e.unwrap().path();
            match p.extension().and_then(|x| x.to_str()) {
                Some("tif") => {
                    let i = gdalinfo(&p, &[]);
                    let tag = i["metadata"][""]["LODE_SYNTHETIC"].as_str().unwrap_or_default();
                    assert!(tag.starts_with("SYNTHETIC"), "{}: {tag}", p.display());
                }
                Some("gpkg") => {
                    let text = tool("ogrinfo", &["-ro", "-al", "-q", p.to_str().unwrap()]);
                    assert!(text.contains("synthetic (String) = SYNTHETIC"), "{}", p.display());
                }
                _ => {}
            }
        }
    }
}

#[test]
fn unknown_preset_is_an_error_listing_the_presets() {
    let tmp = tempfile::tempdir().unwrap();
    let o = lode(&["init", "--preset", "gold", tmp.path().join("x").to_str().unwrap()]);
    assert!(!o.status.success());
    for name in PRESETS {
        assert!(stderr(&o).contains(name), "{}", stderr(&o));
    }
}
