//! The QGIS Processing provider (`qgis/lode_provider/`), headless in Debian's QGIS 3.22
//! (`python3-qgis`, `QT_QPA_PLATFORM=offscreen`): it registers its four algorithms, *Run*
//! produces the outputs with lode's progress in the feedback, the layers load with
//! their renderers, a rendered map is not blank, and the other algorithms run. The
//! provider is imported from the zip `make` builds (`target/lode_provider.zip`), checked
//! to hold the current sources.

mod common;

use common::*;

#[test]
fn the_qgis_provider_registers_runs_lode_and_loads_the_outputs_styled() {
    assert!(
        std::path::Path::new("/usr/lib/python3/dist-packages/qgis").exists(),
        "python3-qgis is missing: `make test` installs it (qgis python3-qgis)"
    );
    let tmp = tempfile::tempdir().unwrap();
    let scene = tmp.path().join("scene");
    let o = lode(&["synth", "--cols", "120", "--rows", "100", scene.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(scene.join("scene.toml")).unwrap();
    let text = text.replace("kind = \"random_forest\"", "kind = \"logistic\"");
    let config = write(&scene, "scene.toml", &text);
    let binary = env!("CARGO_BIN_EXE_lode");
    let runtime = tmp.path().join("xdg-runtime");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let out = std::process::Command::new("/usr/bin/python3")
        .args([
            root().join("tests/peers/qgis_check.py").to_str().unwrap(),
            root().to_str().unwrap(),
            config.to_str().unwrap(),
            scene.join("magnetic.tif").to_str().unwrap(),
            scene.join("deposits.geojson").to_str().unwrap(),
            tmp.path().to_str().unwrap(),
        ])
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("LODE_BIN", binary)
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("HOME", tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "qgis_check.py failed:\n{stdout}\n{}", stderr(&out));
    let json_line = stdout.lines().rev().find(|l| l.starts_with('{')).expect("a JSON report");
    let r: serde_json::Value = serde_json::from_str(json_line).unwrap();
    assert_eq!(r["provider"], "lode");
    let plugin = r["plugin_file"].as_str().unwrap();
    assert!(plugin.contains("target/lode_provider.zip"), "the provider is imported from make's zip: {plugin}");
    assert_eq!(
        r["algorithms"],
        serde_json::json!(["lode:redraw_targets", "lode:run", "lode:validate", "lode:weights"])
    );
    let run_dir = std::path::PathBuf::from(r["run_outputs"]["RUN_DIR"].as_str().unwrap());
    for f in ["prospectivity.tif", "uncertainty.tif", "targets.gpkg", "report.html", "stac/item.json"] {
        assert!(run_dir.join(f).exists(), "Run did not produce {f}");
    }
    assert_eq!(r["run_log_has_stages"], true, "lode's stage lines reach the feedback");
    assert_eq!(r["run_progress_max"], 100.0);
    assert_eq!(r["layers_to_load"], serde_json::json!(["prospectivity", "targets", "uncertainty"]));
    assert_eq!(r["prospectivity_renderer"], "singlebandpseudocolor");
    assert_eq!(r["prospectivity_classes"], 6, "the six classes by area of prospectivity.qml");
    assert_eq!(r["prospectivity_ramp_type"], 1, "QgsColorRampShader::Discrete");
    assert_eq!(r["uncertainty_renderer"], "singlebandpseudocolor");
    assert_eq!(r["targets_renderer"], "graduatedSymbol");
    assert_eq!(r["targets_class_attribute"], "rank");
    assert!(r["targets_features"].as_u64().unwrap() >= 1, "{r}");
    assert!(r["render_distinct_colours"].as_u64().unwrap() >= 6, "the rendered map is blank: {r}");
    assert!(r["validate_report"].as_str().unwrap().contains("is valid"), "{r}");
    assert!(r["weights_rows"].as_u64().unwrap() >= 2, "{r}");
    assert!(r["redraw_targets_features"].as_u64().unwrap() >= 1, "{r}");
    let err = r["bad_config_error"].as_str().expect("a missing config fails the algorithm");
    assert!(err.contains("missing.toml"), "lode's error reaches QGIS: {err}");
}
