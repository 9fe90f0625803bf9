//! Issue 13's defects, each as the user met it: a map silently filled where a layer has
//! no data, inputs overwritten, absurd sizes allocated, mixed or drifting outputs, and
//! command-line messages that hid the cause. Inputs are made with GDAL's own tools.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// `gdal_translate ARGS FaultDensity.tif dir/name` (quiet), returning the new file.
fn translated(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mut a = vec!["-q"];
    a.extend_from_slice(args);
    let src = cloncurry("FaultDensity.tif");
    a.extend([src.to_str().unwrap(), out.to_str().unwrap()]);
    tool("gdal_translate", &a);
    out
}

/// A Cloncurry config with Dist2Breccia and one `kind` layer from `path`, no targets or
/// report (fast), writing to `out`; extra keys after the `[grid]` template line.
fn config_with(dir: &Path, out: &Path, path: &Path, kind: &str, layer_extra: &str, grid_extra: &str) -> PathBuf {
    let evidence = format!(
        "[[evidence]]\nname = \"dist2breccia\"\nkind = \"raster\"\npath = \"{}\"\n\n\
         [[evidence]]\nname = \"moved\"\nkind = \"{kind}\"\npath = \"{}\"\n{layer_extra}\n",
        cloncurry("Dist2Breccia.tif").display(),
        path.display()
    );
    let text = cloncurry_config(out, "", &evidence)
        .replace("[output]", "[targets]\nenabled = false\n\n[output]\nreport = false")
        .replacen("[labels]", &format!("{grid_extra}\n\n[labels]"), 1);
    write(dir, "c.toml", &text)
}

fn metrics(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap()
}

/// FaultDensity's corners shifted by `dx` metres east.
fn shifted(dir: &Path, name: &str, dx: f64, srs: Option<&str>) -> PathBuf {
    let (x0, y0, x1, y1) = (600261.7689 + dx, -2260491.0157, 726161.7689 + dx, -2509191.0157);
    let (a, b, c, d) = (x0.to_string(), y0.to_string(), x1.to_string(), y1.to_string());
    let mut args = vec!["-a_ullr", &a, &b, &c, &d, "-a_nodata", "-9999", "-ot", "Float32"];
    if let Some(s) = srs {
        args.extend(["-a_srs", s]);
    }
    translated(dir, name, &args)
}

#[test]
fn a_raster_off_the_grid_is_an_error_naming_it_in_validate_and_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // 1000 km east, and the same numbers in another hemisphere's CRS.
    for (name, srs) in [("far.tif", None), ("utm33.tif", Some("EPSG:32633"))] {
        let far = shifted(tmp.path(), name, 1_000_000.0, srs);
        let config = config_with(tmp.path(), &out, &far, "raster", "", "");
        for cmd in ["validate", "run"] {
            let o = lode(&[cmd, config.to_str().unwrap()]);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(1), "{cmd} {name}: {err}");
            assert!(err.contains("evidence `moved`") && err.contains("has no data on any of the"), "{err}");
            assert!(!out.exists(), "{cmd} wrote {}", out.display());
        }
    }
}

#[test]
fn a_raster_half_off_the_grid_is_nodata_outside_its_footprint_and_its_coverage_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // 60 km east: about 52 % of the grid's 125.9 km width is still covered.
    let half = shifted(tmp.path(), "half.tif", 60_000.0, None);
    let config = config_with(tmp.path(), &out, &half, "raster", "", "");
    let o = lode(&["validate", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let line = stdout.lines().find(|l| l.contains("moved [raster]")).unwrap();
    assert!(line.contains("% of the study area"), "{line}");

    let o = lode(&["run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("coverage: moved"));
    let m = metrics(&out);
    let cov = m["coverage"].as_array().unwrap();
    let moved = cov.iter().find(|c| c["name"] == "moved").unwrap();
    let fraction = moved["fraction"].as_f64().unwrap();
    // Columns 600..1259 of 1259 lie under the shifted raster (FaultDensity has nodata too).
    assert!((0.40..0.53).contains(&fraction), "coverage {fraction}");
    let study = m["prediction"]["study_area_cells"].as_u64().unwrap();
    let without = m["prediction"]["cells_without_evidence"].as_u64().unwrap();
    let covered = moved["covered_cells"].as_u64().unwrap();
    assert!(without >= study - covered, "cells off the raster are unscored: {without} < {}", study - covered);
    // The map is nodata west of the shifted raster's edge (column 600).
    let map = out.join("prospectivity.tif");
    let west = tool("gdallocationinfo", &["-valonly", map.to_str().unwrap(), "300", "1200"]);
    assert_eq!(west.trim(), "-9999", "a cell off the raster is nodata");

    // The run counted the coverage while predicting; `validate` measures it in a pass of
    // its own: the same counts.
    assert!(line.contains(&format!("({covered} of {study} cells)")), "validate: {line}, run: {covered} of {study}");

    // Below min_coverage: an error with the numbers, from validate and from a run (whose
    // fit succeeds, so the run refuses the layer from the counts of its predict stage),
    // and the run leaves no output behind.
    let refused = tmp.path().join("refused");
    let config = config_with(tmp.path(), &refused, &half, "raster", "", "min_coverage = 0.9");
    for cmd in ["validate", "run"] {
        let o = lode(&[cmd, config.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {err}");
        assert!(err.contains("evidence `moved`") && err.contains("below grid.min_coverage = 0.9"), "{cmd}: {err}");
        assert!(!refused.exists(), "{cmd} wrote {}", refused.display());
    }
    // The run's refusal came after its fit (the stage's timing line), not from a pass of its own.
    let o = lode(&["-v", "run", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(err.contains("fit: ") && err.contains("below grid.min_coverage"), "{err}");
}

#[test]
fn an_all_nodata_layer_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Every value scaled to 0, which is declared nodata.
    let empty = translated(tmp.path(), "empty.tif", &["-scale", "0", "255", "0", "0", "-a_nodata", "0"]);
    let config = config_with(tmp.path(), &out, &empty, "raster", "", "");
    let o = lode(&["run", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("evidence `moved`") && err.contains("has no data"), "{err}");
}

#[test]
fn a_constant_layer_is_warned_about_and_a_complex_raster_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let constant = translated(tmp.path(), "five.tif", &["-scale", "0", "255", "5", "5", "-a_nodata", "none"]);
    let config = config_with(tmp.path(), &out, &constant, "raster", "", "");
    let o = lode(&["validate", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("evidence `moved` has the one value 5"), "{err}");

    let complex = translated(tmp.path(), "complex.tif", &["-ot", "CFloat32"]);
    let config = config_with(tmp.path(), &out, &complex, "raster", "", "");
    let o = lode(&["validate", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("complex values (CFloat32)") && err.contains("complex.tif"), "{err}");
}

#[test]
fn a_missing_band_names_the_band_key() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let config = config_with(tmp.path(), &out, &cloncurry("FaultDensity.tif"), "raster", "band = 3", "");
    let o = lode(&["validate", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("config key `evidence[1].band` asks for band 3"), "{err}");
}

/// `lode validate` and `lode run` on `text` (written to dir/c.toml) both fail with `needles`.
fn both_refuse(dir: &Path, text: &str, needles: &[&str]) -> String {
    let config = write(dir, "c.toml", text);
    let mut last = String::new();
    for cmd in ["validate", "run"] {
        let o = lode(&[cmd, config.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {err}");
        assert!(!err.contains("panicked") && !err.contains("memory allocation"), "{err}");
        for n in needles {
            assert!(err.contains(n), "{cmd}: no `{n}` in {err}");
        }
        last = err;
    }
    last
}

#[test]
fn absurd_grid_sizes_and_class_counts_are_refused_with_the_numbers_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let evidence = format!(
        "[[evidence]]\nname = \"d\"\nkind = \"raster\"\npath = \"{}\"\n",
        cloncurry("Dist2Breccia.tif").display()
    );
    let explicit = |cell: &str| {
        cloncurry_config(&out, "", &evidence).replace(
            &format!("template = \"{}\"", cloncurry("StratNo.tif").display()),
            &format!("crs = \"EPSG:7845\"\nbounds = [600000, -2500000, 700000, -2300000]\ncell_size = {cell}"),
        )
    };
    // 100 x 200 km in 1 mm cells: 1e8 x 2e8 cells.
    both_refuse(
        tmp.path(),
        &explicit("0.001"),
        &["grid.cell_size", "100000000 x 200000000 cells", "more than lode addresses"],
    );
    // 1 µm cells: more columns than GDAL's int can hold.
    both_refuse(tmp.path(), &explicit("1e-6"), &["grid.cell_size", "more than 2147483647 cells on an axis"]);
    let classes = cloncurry_config(
        &out,
        "",
        &format!(
            "[[evidence]]\nname = \"c\"\nkind = \"categorical\"\npath = \"{}\"\nmax_classes = 5000000\n",
            cloncurry("Dist2Breccia.tif").display()
        ),
    );
    both_refuse(tmp.path(), &classes, &["evidence[0].max_classes", "5000000 is outside 1..=65536"]);
    assert!(!out.exists());
}

#[test]
fn output_folders_that_would_overwrite_inputs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let evidence = |p: &Path| format!("[[evidence]]\nname = \"d\"\nkind = \"raster\"\npath = \"{}\"\n", p.display());
    // An input named like an output, in the output folder.
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::copy(cloncurry("Dist2Breccia.tif"), out.join("prospectivity.tif")).unwrap();
    let text = cloncurry_config(&out, "", &evidence(&out.join("prospectivity.tif")));
    both_refuse(tmp.path(), &text, &["output.dir", "holds the input", "prospectivity.tif", "evidence[0].path"]);
    let sha = tool("sha256sum", &[out.join("prospectivity.tif").to_str().unwrap()]);
    assert_eq!(sha[..64], tool("sha256sum", &[cloncurry("Dist2Breccia.tif").to_str().unwrap()])[..64]);

    // `dir = ""` (it used to write into the config's folder, beside the inputs).
    let text = cloncurry_config(&out, "", &evidence(&cloncurry("Dist2Breccia.tif")))
        .replace(&format!("dir = \"{}\"", out.display()), "dir = \"\"");
    both_refuse(tmp.path(), &text, &["output.dir", "is empty"]);
    // The config's own folder when the inputs are in it.
    std::fs::copy(cloncurry("Dist2Breccia.tif"), tmp.path().join("d.tif")).unwrap();
    let text = cloncurry_config(&out, "", &evidence(Path::new("d.tif")))
        .replace(&format!("dir = \"{}\"", out.display()), "dir = \".\"");
    both_refuse(tmp.path(), &text, &["output.dir", "holds the input"]);
    // A relative folder climbing above the root is caught by validate, before any work.
    let up = "../".repeat(tmp.path().components().count() + 2);
    let text = cloncurry_config(&out, "", &evidence(&cloncurry("Dist2Breccia.tif")))
        .replace(&format!("dir = \"{}\"", out.display()), &format!("dir = \"{up}x\""));
    both_refuse(tmp.path(), &text, &["output.dir", "climbs above the file system root"]);
}

#[test]
fn project_names_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let evidence = format!(
        "[[evidence]]\nname = \"d\"\nkind = \"raster\"\npath = \"{}\"\n",
        cloncurry("Dist2Breccia.tif").display()
    );
    let text = cloncurry_config(&out, "", &evidence)
        .replace("name = \"test\"", &format!("name = \"{}\"", "x".repeat(10_000_000)));
    both_refuse(tmp.path(), &text, &["project.name", "is 10000000 bytes long; at most 256"]);
}

#[test]
fn a_bad_where_keeps_gdals_reason_and_null_geometries_are_skipped() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let evidence = format!(
        "[[evidence]]\nname = \"d\"\nkind = \"raster\"\npath = \"{}\"\n",
        cloncurry("Dist2Breccia.tif").display()
    );
    let text = cloncurry_config(&out, "where = \"no_such_field = 1\"", &evidence);
    let config = write(tmp.path(), "c.toml", &text);
    let o = lode(&["validate", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("no_such_field") && err.contains("not recognised as an available field"), "{err}");

    // Deposits with a null geometry among real points.
    let points = tool("ogr2ogr", &["-f", "GeoJSON", "/vsistdout/", cloncurry("IOCG_Deposits.shp").to_str().unwrap()]);
    let null = r#"{"type":"Feature","properties":{},"geometry":null},
        {"type":"Feature","properties":{},"geometry":{"type":"GeometryCollection","geometries":[]}},"#;
    let with_null = points.replacen("\"features\": [", &format!("\"features\": [{null}"), 1);
    assert_ne!(with_null, points);
    write(tmp.path(), "deposits.geojson", &with_null);
    let text = cloncurry_config(&out, "", &evidence)
        .replace(cloncurry("IOCG_Deposits.shp").to_str().unwrap(), "deposits.geojson");
    let config = write(tmp.path(), "c.toml", &text);
    let o = lode(&["validate", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("Some("), "{err}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("258 read"));
}

#[test]
fn quiet_prints_nothing_on_success_and_a_closed_pipe_ends_lode_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let evidence = format!(
        "[[evidence]]\nname = \"d\"\nkind = \"raster\"\npath = \"{}\"\n",
        cloncurry("Dist2Breccia.tif").display()
    );
    let config = write(
        tmp.path(),
        "c.toml",
        &cloncurry_config(&out, "", &evidence).replace("[output]", "[output]\nreport = false"),
    );
    let o = lode(&["-q", "run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "", "-q: no summary, no `wrote` lines");
    assert_eq!(stderr(&o), "", "-q: no log lines");

    // `lode validate c.toml | head -0`: the reader is gone before lode writes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lode"))
        .args(["validate", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(!err.contains("panicked") && !err.contains("Broken pipe"), "{err}");
    use std::os::unix::process::ExitStatusExt;
    assert!(o.status.success() || o.status.signal() == Some(libc::SIGPIPE), "{:?}", o.status);
}

/// Everything in `out` but the timing fields docs/outputs.md lists.
fn without_timings(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for e in std::fs::read_dir(out).unwrap().map(|e| e.unwrap()).filter(|e| e.file_name() != ".lode-lock") {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            // Output subfolders (`stac/`) by their files.
            for s in std::fs::read_dir(e.path()).unwrap().map(|s| s.unwrap()) {
                files.push((format!("{name}/{}", s.file_name().to_string_lossy()), std::fs::read(s.path()).unwrap()));
            }
        } else {
            files.push((name, std::fs::read(e.path()).unwrap()));
        }
    }
    files.sort();
    for (name, bytes) in files.iter_mut() {
        if name.ends_with(".json") {
            let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap();
            if let Some(o) = v.as_object_mut() {
                o.remove("timings_s");
            }
            // The manifest's checksums of the two files that carry the timings, and of the
            // STAC item, which lists their checksums too.
            if let Some(outputs) = v.get_mut("outputs").and_then(|o| o.as_array_mut()) {
                outputs.retain(|o| o[0] != "metrics.json" && o[0] != "report.html" && o[0] != "stac/item.json");
            }
            // The STAC item's size and checksum of those two files.
            if let Some(assets) = v.get_mut("assets").and_then(|a| a.as_object_mut()) {
                for a in assets.values_mut() {
                    if a["title"] == "metrics.json" || a["title"] == "report.html" {
                        let a = a.as_object_mut().unwrap();
                        a.remove("file:checksum");
                        a.remove("file:size");
                    }
                }
            }
            *bytes = serde_json::to_vec(&v).unwrap();
        }
        if name == "report.html" {
            let text = String::from_utf8(bytes.clone()).unwrap();
            let start = text.find("<h2>Stage timings</h2>").expect("the report has its timings table");
            let end = start + text[start..].find("</table>").unwrap();
            *bytes = format!("{}{}", &text[..start], &text[end..]).into_bytes();
        }
    }
    files
}

#[test]
fn reruns_are_byte_identical_but_for_the_documented_timings() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let config = shipped_config(tmp.path(), "cloncurry.toml", &out, "");
    assert!(lode(&["-q", "run", config.to_str().unwrap()]).status.success());
    let first = without_timings(&out);
    assert!(first.iter().any(|(n, _)| n == "targets.gpkg"));
    let report = String::from_utf8_lossy(&first.iter().find(|f| f.0 == "report.html").unwrap().1).into_owned();
    assert!(
        report.contains("<table id=\"coverage\">") && report.contains("<td>stratno</td>"),
        "the report gives coverage"
    );
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(lode(&["-q", "run", config.to_str().unwrap()]).status.success());
    let second = without_timings(&out);
    assert_eq!(first.iter().map(|f| &f.0).collect::<Vec<_>>(), second.iter().map(|f| &f.0).collect::<Vec<_>>());
    for ((name, a), (_, b)) in first.iter().zip(&second) {
        assert!(a == b, "{name} differs between identical runs");
    }
}
