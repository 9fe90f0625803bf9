//! Bad input gets a clear error naming the culprit, a non-zero exit, and no output.

mod common;

use common::*;

const RASTER: &str = r#"
[[evidence]]
name = "dist2breccia"
kind = "raster"
path = "{path}"
"#;

fn evidence(path: &std::path::Path) -> String {
    RASTER.replace("{path}", path.to_str().unwrap())
}

/// Runs `lode run` on `config` and checks the failure: exit code, message, no output.
fn fails_with(config: &str, out: &std::path::Path, dir: &std::path::Path, needles: &[&str]) {
    let path = write(dir, "bad.toml", config);
    let o = lode(&["run", path.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(!o.status.success(), "lode run should fail");
    assert_eq!(o.status.code(), Some(1), "{err}");
    for n in needles {
        assert!(err.contains(n), "error does not mention `{n}`:\n{err}");
    }
    assert!(!out.exists(), "a failed run left {}", out.display());
}

#[test]
fn unknown_config_key_is_named_with_its_line() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let text = cloncurry_config(&out, "negative_bufer = 10.0", &evidence(&cloncurry("Dist2Breccia.tif")));
    let line = text.lines().position(|l| l.starts_with("negative_bufer")).unwrap() + 1;
    fails_with(&text, &out, tmp.path(), &["negative_bufer", &format!("line {line}"), "bad.toml"]);
}

#[test]
fn missing_file_is_named_with_its_key() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let missing = tmp.path().join("nowhere/Magnetics.tif");
    let text = cloncurry_config(&out, "", &evidence(&missing));
    fails_with(&text, &out, tmp.path(), &["evidence[0].path", "nowhere/Magnetics.tif", "does not exist"]);
}

#[test]
fn labels_with_no_point_inside_the_grid_are_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Two deposits in Europe: far outside the Queensland grid once reprojected.
    let far = write(
        tmp.path(),
        "far.geojson",
        r#"{"type":"FeatureCollection","name":"far","features":[
            {"type":"Feature","properties":{"name":"a"},"geometry":{"type":"Point","coordinates":[10.0,50.0]}},
            {"type":"Feature","properties":{"name":"b"},"geometry":{"type":"Point","coordinates":[11.0,51.0]}}]}"#,
    );
    let text = cloncurry_config(&out, "", &evidence(&cloncurry("Dist2Breccia.tif")))
        .replace(cloncurry("IOCG_Deposits.shp").to_str().unwrap(), far.to_str().unwrap());
    fails_with(
        &text,
        &out,
        tmp.path(),
        &["far.geojson", "layer `far`", "none of its 2 point(s)", "2 outside the grid"],
    );
}

#[test]
fn raster_without_crs_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let no_crs = tmp.path().join("no_crs.tif");
    // A copy of a Cloncurry raster stripped of its CRS with GDAL's own tool.
    std::fs::copy(cloncurry("FaultDensity.tif"), &no_crs).unwrap();
    tool("gdal_edit.py", &["-a_srs", "", no_crs.to_str().unwrap()]);
    let info = gdalinfo(&no_crs, &[]);
    assert!(info.get("coordinateSystem").is_none() || info["coordinateSystem"]["wkt"] == "", "{info}");
    let text = cloncurry_config(&out, "", &evidence(&no_crs));
    fails_with(&text, &out, tmp.path(), &["no_crs.tif", "no coordinate reference system"]);
}

#[test]
fn negatives_that_cannot_be_drawn_are_an_error_and_leave_no_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let text = cloncurry_config(&out, "negative_buffer = 500000.0", &evidence(&cloncurry("Dist2Breccia.tif")));
    fails_with(&text, &out, tmp.path(), &["negative", "labels.negative_buffer"]);
}

#[test]
fn a_categorical_layer_with_too_many_classes_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ev = format!(
        "[[evidence]]\nname = \"d\"\nkind = \"categorical\"\npath = \"{}\"\n",
        cloncurry("Dist2Breccia.tif").display()
    );
    let text = cloncurry_config(&out, "", &ev);
    fails_with(&text, &out, tmp.path(), &["Dist2Breccia.tif", "642 distinct values", "max_classes = 256"]);
}

#[test]
fn a_layer_of_two_columns_is_refused_by_weights_of_evidence() {
    // Aspect is two columns (sine, cosine): weights of evidence needs one class per cell,
    // and reading only the first column would silently drop the other.
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let ev = format!(
        "[[evidence]]\nname = \"breccia_aspect\"\nkind = \"terrain\"\npath = \"{}\"\nderivative = \"aspect\"\n\n[model]\nkind = \"wofe\"\n",
        cloncurry("Dist2Breccia.tif").display()
    );
    let text = cloncurry_config(&out, "", &ev);
    fails_with(&text, &out, tmp.path(), &["breccia_aspect", "2 columns", "breccia_aspect_sin, breccia_aspect_cos"]);
}

/// `lode validate` rejects the model keys `lode run` would reject, without preparing any
/// evidence: fuzzy memberships (`low == high`, a missing membership) and the weights-of-
/// evidence generalisation keys (`classes` with `threshold`, a key of the other method).
/// `lode run` fails with the same message and writes nothing.
#[test]
fn lode_validate_rejects_bad_fuzzy_and_wofe_keys_like_lode_run() {
    let stratno = cloncurry("binary/StratNo.tif");
    let layer = |extra: &str| {
        format!("[[evidence]]\nname = \"units\"\nkind = \"categorical\"\npath = \"{}\"\n{extra}\n", stratno.display())
    };
    let cases = [
        (
            "fuzzy",
            layer("fuzzy = { membership = \"linear\", low = 1.0, high = 1.0 }"),
            vec!["evidence `units`.fuzzy.high", "must differ from `low`"],
        ),
        ("fuzzy", layer(""), vec!["evidence[0].fuzzy", "needs a membership for layer `units`"]),
        (
            "fuzzy",
            layer("fuzzy = { membership = \"classes\", values = { \"2\" = 1.5 } }"),
            vec!["evidence `units`.fuzzy.values", "outside [0, 1]"],
        ),
        ("wofe", layer("wofe = { classes = [2], threshold = 2 }"), vec!["evidence `units`.wofe.classes", "not both"]),
        (
            "wofe",
            layer("wofe = { method = \"ascending\", classes = [2] }"),
            vec!["evidence `units`.wofe.classes", "categorical method only"],
        ),
        (
            "wofe",
            layer("wofe = { method = \"categorical\", threshold = 2 }"),
            vec!["evidence `units`.wofe.threshold", "ascending or descending only"],
        ),
    ];
    for (kind, evidence, needles) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let text = cloncurry_config(&out, "", &format!("{evidence}\n[model]\nkind = \"{kind}\"\n"));
        let path = write(tmp.path(), "bad.toml", &text);
        let o = lode(&["validate", path.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "lode validate accepted:\n{evidence}\n{err}");
        for n in &needles {
            assert!(err.contains(n), "lode validate does not mention `{n}`:\n{err}");
        }
        fails_with(&text, &out, tmp.path(), &needles);
    }
}
