//! Tiled runs (`lode plan` / `fit` / `tile` / `mosaic`) give exactly the single run's
//! outputs: on a generated scene with layers of many kinds (focal and terrain with halos,
//! categorical, quantile classes, IDW, kriging, distance, point and line densities,
//! rasterize), plans of 1, 4, 7 (uneven) tiles and one window per tile are compared with
//! one `lode run`: decoded maps, AUC, success rate, cross-validation, targets.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{lode, s3, stderr, tool, write};
use lode::grid::Window;

/// Grid of the scene: 240 x 200 cells of 100 m in 64-cell windows (4 x 4 windows).
const COLS: usize = 240;
const ROWS: usize = 200;
const BLOCK: usize = 64;

/// A GeoJSON FeatureCollection in the scene's CRS (EPSG:32754).
fn collection(features: &[String]) -> String {
    let crs = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32754"}}"#;
    format!(r#"{{"type":"FeatureCollection",{crs},"features":[{}]}}"#, features.join(","))
}

/// Writes the scene into `dir` and returns the evidence tables of the config.
fn scene(dir: &Path) -> String {
    let syn = dir.join("syn");
    let o = lode(&["-q", "synth", "--cols", &COLS.to_string(), "--rows", &ROWS.to_string(), syn.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let s = |name: &str| syn.join(name).display().to_string();
    // A categorical raster: the magnetic field in 6 integer classes.
    let classes = syn.join("magclass.tif");
    tool(
        "gdal_translate",
        &[
            "-q",
            "-ot",
            "Byte",
            "-scale",
            "-3",
            "3",
            "1",
            "6",
            "-a_nodata",
            "0",
            &s("magnetic.tif"),
            classes.to_str().unwrap(),
        ],
    );
    // Geochemical samples for IDW and kriging: a smooth trend plus a wobble, 60 points.
    let samples: Vec<String> = (0..60)
        .map(|i| {
            let x = 500_150.0 + (i * 7919 % 239) as f64 * 100.0;
            let y = 7_680_050.0 + (i * 104_729 % 199) as f64 * 100.0;
            let v = 10.0 + (x - 500_000.0) / 2000.0 + ((i * 31) % 17) as f64 / 4.0;
            format!(
                r#"{{"type":"Feature","properties":{{"cu":{v}}},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}"#
            )
        })
        .collect();
    let geochem = write(dir, "geochem.geojson", &collection(&samples));
    // Three lithology polygons, the rest of the ground unmapped (a class of its own).
    let rect = |unit: &str, x0: f64, y0: f64, x1: f64, y1: f64| {
        format!(
            r#"{{"type":"Feature","properties":{{"unit":"{unit}"}},"geometry":{{"type":"Polygon","coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}}}"#
        )
    };
    let lith = write(
        dir,
        "lith.geojson",
        &collection(&[
            rect("granite", 503_000.0, 7_683_000.0, 512_000.0, 7_695_000.0),
            rect("schist", 512_000.0, 7_681_000.0, 521_000.0, 7_690_000.0),
            rect("basalt", 506_000.0, 7_690_000.0, 518_000.0, 7_698_500.0),
        ]),
    );
    format!(
        r#"
[[evidence]]
name = "granite_dist"
kind = "raster"
path = "{granite}"

[[evidence]]
name = "magnetic_focal"
kind = "focal"
path = "{magnetic}"
statistic = "mean"
radius = 450.0

[[evidence]]
name = "alteration_slope"
kind = "terrain"
path = "{alteration}"
derivative = "slope"

[[evidence]]
name = "magclass"
kind = "categorical"
path = "{classes}"

[[evidence]]
name = "noise_classes"
kind = "raster"
path = "{noise}"
classify = {{ method = "quantile", classes = 5 }}

[[evidence]]
name = "cu_idw"
kind = "interpolate"
path = "{geochem}"
attribute = "cu"

[[evidence]]
name = "cu_krige"
kind = "interpolate"
path = "{geochem}"
attribute = "cu"
interpolation = "ordinary_kriging"

[[evidence]]
name = "fault_dist"
kind = "distance"
path = "{faults}"

[[evidence]]
name = "fault_density"
kind = "line_density"
path = "{faults}"
radius = 1500.0

[[evidence]]
name = "sample_density"
kind = "point_density"
path = "{geochem}"
radius = 3000.0

[[evidence]]
name = "lith"
kind = "rasterize"
path = "{lith}"
attribute = "unit"
"#,
        granite = s("granite_dist.tif"),
        magnetic = s("magnetic.tif"),
        alteration = s("alteration.tif"),
        classes = classes.display(),
        noise = s("noise_smooth.tif"),
        geochem = geochem.display(),
        faults = s("faults.geojson"),
        lith = lith.display(),
    )
}

/// A config of the scene writing into `out`.
fn config(dir: &Path, name: &str, evidence: &str, out: &Path) -> PathBuf {
    let deposits = dir.join("syn/deposits.geojson");
    write(
        dir,
        name,
        &format!(
            r#"
[project]
name = "tiled"
seed = 3

[grid]
crs = "EPSG:32754"
bounds = [500000, 7680000, 524000, 7700000]
cell_size = 100
block_size = {BLOCK}

[labels]
path = "{deposits}"
negative_buffer = 0
negatives_per_positive = 5
{evidence}
[model]
kind = "random_forest"
n_trees = 20

[validation]
kind = "spatial_block"
folds = 3
block_size = 4000

[targets]
top_percent = 5
min_area_km2 = 0.5

[output]
dir = "{out}"
report = false
"#,
            deposits = deposits.display(),
            out = out.display()
        ),
    )
}

/// `lode plan CONFIG --tiles N --engine ENGINE --out RUN` plus `extra`, which must succeed.
fn plan(cfg: &Path, run: &Path, tiles: usize, engine: &str, extra: &[&str]) {
    let n = tiles.to_string();
    let mut args =
        vec!["-q", "plan", cfg.to_str().unwrap(), "--tiles", &n, "--engine", engine, "--out", run.to_str().unwrap()];
    args.extend_from_slice(extra);
    let o = lode(&args);
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
}

/// Runs every line of a `list` launcher, group by group, in order.
fn run_commands(run: &Path) {
    let text = std::fs::read_to_string(run.join("commands.txt")).expect("commands.txt");
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let o = Command::new("sh").args(["-c", line]).output().expect("sh");
        assert!(o.status.success(), "{line}: {}", String::from_utf8_lossy(&o.stderr));
    }
}

/// The decoded values of band 1 of a map, as bits (nodata included).
fn decoded(path: &Path) -> Vec<u32> {
    let w = Window { col: 0, row: 0, cols: COLS, rows: ROWS };
    let (values, _) = lode::io::cog::read_window(path, &w).expect("read map");
    values.iter().map(|v| v.to_bits()).collect()
}

fn metrics(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).expect("metrics")).expect("json")
}

/// The target polygons as WKT, in rank order, from an independent reader (ogr2ogr).
fn target_wkt(dir: &Path) -> Vec<String> {
    let csv = dir.join("targets-wkt.csv");
    tool(
        "ogr2ogr",
        &["-f", "CSV", "-lco", "GEOMETRY=AS_WKT", csv.to_str().unwrap(), dir.join("targets.gpkg").to_str().unwrap()],
    );
    let text = std::fs::read_to_string(&csv).expect("csv");
    std::fs::remove_file(&csv).ok();
    text.lines().skip(1).map(|l| l.split("\",").next().unwrap_or("").to_string()).collect()
}

/// The smallest and largest y of a WKT polygon.
fn y_range(wkt: &str) -> (f64, f64) {
    let nums: Vec<f64> =
        wkt.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).filter_map(|t| t.parse().ok()).collect();
    let ys: Vec<f64> = nums.chunks(2).filter(|p| p.len() == 2).map(|p| p[1]).collect();
    (ys.iter().cloned().fold(f64::INFINITY, f64::min), ys.iter().cloned().fold(f64::NEG_INFINITY, f64::max))
}

#[test]
fn tiled_plans_of_1_4_7_and_one_window_per_tile_give_the_single_runs_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let evidence = scene(d);
    let single = d.join("single");
    let cfg = config(d, "single.toml", &evidence, &single);
    let o = lode(&["-q", "run", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let m = metrics(&single);
    let wkt = target_wkt(&single);
    assert!(wkt.len() >= 2, "the scene should give several targets: {wkt:?}");
    let csv = std::fs::read_to_string(single.join("targets.csv")).unwrap();

    let mut crossed = 0;
    for n in [1usize, 4, 7, 16] {
        let out = d.join(format!("mosaic-{n}"));
        let run = d.join(format!("run-{n}"));
        let cfg = config(d, &format!("tiled-{n}.toml"), &evidence, &out);
        plan(&cfg, &run, n, "list", &["--threads", "2"]);
        run_commands(&run);
        for map in ["prospectivity.tif", "uncertainty.tif"] {
            assert!(decoded(&single.join(map)) == decoded(&out.join(map)), "{n} tiles: {map} differs");
            // The same settings hash and model: the COG is the single run's file, byte for byte.
            assert!(std::fs::read(single.join(map)).unwrap() == std::fs::read(out.join(map)).unwrap(), "{n}: {map}");
        }
        let t = metrics(&out);
        assert_eq!(t["auc"], m["auc"], "{n} tiles");
        assert_eq!(t["success_rate"], m["success_rate"], "{n} tiles");
        assert_eq!(t["capture"], m["capture"], "{n} tiles");
        assert_eq!(t["validation"], m["validation"], "{n} tiles: cross-validation");
        // The fit stage's report, read back by the mosaic, is the single run's.
        assert_eq!(t["fit"], m["fit"], "{n} tiles: the fit's report");
        assert_eq!(t["model"], m["model"], "{n} tiles: the model");
        for file in ["importance.csv", "cv_folds.csv"] {
            let read = |d: &Path| std::fs::read_to_string(d.join(file)).ok();
            assert_eq!(read(&out), read(&single), "{n} tiles: {file}");
        }
        assert_eq!(t["targets"], m["targets"], "{n} tiles");
        assert_eq!(t["prediction"], m["prediction"], "{n} tiles");
        assert_eq!(std::fs::read_to_string(out.join("targets.csv")).unwrap(), csv, "{n} tiles");
        assert_eq!(target_wkt(&out), wkt, "{n} tiles: target geometries");
        // Seams: the first rows of every tile but the first; count targets spanning one.
        let planned: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("plan.json")).unwrap()).unwrap();
        let tiles = planned["tiles"].as_array().unwrap();
        assert_eq!(tiles.len(), n);
        let seams: Vec<f64> =
            tiles.iter().skip(1).map(|t| 7_700_000.0 - 100.0 * t["row"].as_u64().unwrap() as f64).collect();
        crossed += wkt
            .iter()
            .filter(|w| {
                let (lo, hi) = y_range(w);
                seams.iter().any(|&s| lo < s && s < hi)
            })
            .count();
    }
    assert!(crossed > 0, "no target crosses a seam: the test would not see a seam error");
}

/// The number in a stage's log line `... grid-wide passes read N windows ...`.
fn windows_read(log: &str, stage: &str) -> u64 {
    let line = log
        .lines()
        .find(|l| l.contains(&format!("{stage}: grid-wide passes read ")))
        .unwrap_or_else(|| panic!("no `{stage}: grid-wide passes read` line in:\n{log}"));
    let rest = &line[line.find("passes read ").expect("count") + "passes read ".len()..];
    rest.split_whitespace().next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"))
}

#[test]
fn tile_tasks_read_no_window_of_a_grid_wide_pass_and_the_merged_prepared_state_is_the_single_runs_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let evidence = scene(d);
    let out = d.join("out");
    let cfg = config(d, "c.toml", &evidence, &out);
    let run = d.join("run");
    plan(&cfg, &run, 4, "list", &[]);
    let r = run.to_str().unwrap();
    let planned: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("plan.json")).unwrap()).unwrap();
    let windows = planned["windows"].as_u64().unwrap();
    // Each prepare task reads its own windows only: the same number per window of its tile
    // (one read per scanning layer), the four together what one pass over the grid reads.
    let mut per_window = None;
    let mut total = 0;
    for (i, tile) in planned["tiles"].as_array().unwrap().iter().enumerate() {
        let o = lode(&["prepare", r, &i.to_string()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let n = windows_read(&stderr(&o), &format!("prepare {i}"));
        let w = tile["windows"].as_u64().unwrap();
        assert_eq!(n % w, 0, "prepare {i}: {n} reads for {w} windows");
        assert!(*per_window.get_or_insert(n / w) == n / w && n > 0, "prepare {i}: {n} reads for {w} windows");
        total += n;
    }
    assert_eq!(total, per_window.unwrap() * windows);
    let o = lode(&["fit", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(windows_read(&stderr(&o), "fit"), 0, "every pass of this scene merges from the prepare tasks");
    for i in 0..4 {
        let o = lode(&["tile", r, &i.to_string()]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(windows_read(&stderr(&o), &format!("tile {i}")), 0, "tile {i} read windows of a grid-wide pass");
    }
    // The merged state is the single run's pass over every window, exactly.
    let p = lode::cluster::Plan::load(&run).unwrap();
    let settings = p.settings(&run).unwrap();
    let single = lode::features::FeatureStack::scan(&settings, &settings.grid.windows()).unwrap();
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("fit/prepared.json")).unwrap()).unwrap();
    assert_eq!(merged["scan"], serde_json::to_value(&single).unwrap());
    let kinds = serde_json::to_string(&merged["scan"]).unwrap();
    for pass in ["Classes", "Unmapped"] {
        assert!(kinds.contains(pass), "the scene has no {pass} pass: {kinds}");
    }
    assert!(merged["scan"]["layers"].as_array().unwrap().iter().any(|l| l["values"].is_array()), "no transform pass");
    // And what the layers found (classes, counts) and their coverage are the single run's.
    let o = lode(&["-q", "mosaic", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    let single_out = d.join("single");
    let cfg1 = config(d, "single.toml", &evidence, &single_out);
    let o = lode(&["-q", "run", cfg1.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) = (metrics(&single_out), metrics(&out));
    assert_eq!(a["evidence"], b["evidence"]);
    assert_eq!(a["coverage"], b["coverage"]);
}

#[test]
fn the_mosaic_refuses_missing_tiles_and_tiles_of_another_plan_and_a_rerun_tile_completes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let evidence = scene(d);
    let out = d.join("out");
    let cfg = config(d, "c.toml", &evidence, &out);
    let run = d.join("run");
    plan(&cfg, &run, 3, "list", &[]);
    let r = run.to_str().unwrap();
    // A failed prepare task (1 never ran): the fit refuses, naming it; its rerun alone completes the state.
    for args in [vec!["-q", "prepare", r, "0"], vec!["-q", "prepare", r, "2"]] {
        let o = lode(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    let o = lode(&["-q", "fit", r]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("1 of 3 prepare tasks are missing or unfinished: 1"), "{}", stderr(&o));
    assert!(!run.join("fit/model.json").exists(), "a refused fit wrote a model");
    for args in
        [vec!["-q", "prepare", r, "1"], vec!["-q", "fit", r], vec!["-q", "tile", r, "0"], vec!["-q", "tile", r, "2"]]
    {
        let o = lode(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    }
    let o = lode(&["-q", "mosaic", r]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("1 of 3 tiles are missing or unfinished: 1"), "{}", stderr(&o));
    assert!(!out.join("prospectivity.tif").exists(), "a refused mosaic wrote outputs");

    // A tile of another plan (4 tiles) put in place of tile 1.
    let other = d.join("other");
    plan(&cfg, &other, 4, "list", &[]);
    let o2 = other.to_str().unwrap();
    for i in ["0", "1", "2", "3"] {
        assert!(lode(&["-q", "prepare", o2, i]).status.success());
    }
    // A prepare record of the other plan in place of this plan's tile 1: the fit refuses it.
    std::fs::copy(other.join("prepare/0001.json"), run.join("prepare/0001.json")).unwrap();
    let o = lode(&["-q", "fit", r]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("belongs to another plan"), "{}", stderr(&o));
    assert!(lode(&["-q", "prepare", r, "1"]).status.success());
    assert!(lode(&["-q", "fit", o2]).status.success());
    assert!(lode(&["-q", "tile", o2, "1"]).status.success());
    std::fs::rename(other.join("tiles/0001"), run.join("tiles/0001")).unwrap();
    let o = lode(&["-q", "mosaic", r]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("belongs to another plan"), "{}", stderr(&o));

    // Rerunning that one tile alone replaces it, and the mosaic completes.
    let o = lode(&["-q", "tile", r, "1"]);
    assert!(o.status.success(), "{}", stderr(&o));

    // The mosaic does not fit again: it reads the fit stage's report, and refuses to run
    // without it (a mosaic that refitted would not notice) or with another plan's.
    let report = run.join("fit/report.json");
    let kept = d.join("report.json");
    std::fs::rename(&report, &kept).unwrap();
    let o = lode(&["-q", "mosaic", r]);
    assert!(!o.status.success(), "the mosaic ran without the fit stage's report");
    assert!(stderr(&o).contains(&report.display().to_string()), "{}", stderr(&o));
    assert!(stderr(&o).contains("the fit stage has not finished"), "{}", stderr(&o));
    assert!(!out.join("prospectivity.tif").exists(), "a refused mosaic wrote outputs");
    std::fs::copy(other.join("fit/report.json"), &report).unwrap();
    let o = lode(&["-q", "mosaic", r]);
    assert!(!o.status.success(), "the mosaic took another plan's fit report");
    assert!(stderr(&o).contains(&report.display().to_string()), "{}", stderr(&o));
    assert!(stderr(&o).contains("belongs to another plan"), "{}", stderr(&o));
    std::fs::rename(&kept, &report).unwrap();
    let o = lode(&["-q", "mosaic", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("prospectivity.tif").exists());

    // A config changed after planning is refused by every stage.
    std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap().replace("n_trees = 20", "n_trees = 21")).unwrap();
    let o = lode(&["-q", "tile", r, "0"]);
    assert!(o.status.success(), "a finished tile is left as it is");
    let o = lode(&["-q", "mosaic", r]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("changed since the plan was made"), "{}", stderr(&o));
}

#[test]
fn an_input_changed_after_planning_is_refused_by_the_stages_by_its_size_and_by_the_mosaic_by_its_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let evidence = scene(d);
    let out = d.join("out");
    let cfg = config(d, "c.toml", &evidence, &out);
    let run = d.join("run");
    let r = run.to_str().unwrap();
    plan(&cfg, &run, 2, "list", &[]);
    for args in [["-q", "prepare", r, "0"], ["-q", "prepare", r, "1"]] {
        assert!(lode(&args).status.success());
    }
    let o = lode(&["-q", "fit", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(lode(&["-q", "tile", r, "0"]).status.success());

    // One byte of an input's pixels changed, its size and modification time kept: the
    // stages (which compare sizes and times, not hashes) compute tile 1 from it, and the
    // mosaic, which hashes every input, refuses to mix it with tile 0 and writes nothing.
    let input = d.join("syn/alteration.tif");
    let original = std::fs::read(&input).unwrap();
    let modified = std::fs::metadata(&input).unwrap().modified().unwrap();
    let mut changed = original.clone();
    let mid = changed.len() / 2;
    changed[mid] ^= 0x55;
    let rewrite = |bytes: &[u8]| {
        std::fs::write(&input, bytes).unwrap();
        std::fs::File::options().write(true).open(&input).unwrap().set_modified(modified).unwrap();
    };
    rewrite(&changed);
    let o = lode(&["-q", "tile", r, "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = lode(&["-q", "mosaic", r]);
    assert!(!o.status.success(), "the mosaic took an input that differs from the plan's");
    assert!(
        stderr(&o).contains(&format!("input {} changed since the plan was made", input.display())),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("its SHA-256 differs"), "{}", stderr(&o));
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none(), "a refused mosaic wrote outputs");

    // The same input one byte longer: every stage refuses it before reading anything.
    let mut longer = original.clone();
    longer.push(0);
    rewrite(&longer);
    std::fs::remove_dir_all(run.join("tiles/0001")).unwrap();
    let o = lode(&["-q", "tile", r, "1"]);
    assert!(!o.status.success(), "a tile took an input of another size than the plan's");
    assert!(
        stderr(&o).contains(&format!("input {} changed since the plan was made", input.display())),
        "{}",
        stderr(&o)
    );
    assert!(!run.join("tiles/0001").exists(), "a refused tile left a folder");

    // Its compressed pixels zeroed, size and modification time kept: tile 1 passes the
    // check, starts, and fails on its first read; it leaves no folder behind, finished or
    // partial.
    let mut broken = original.clone();
    let n = broken.len();
    broken[n * 3 / 5..n * 19 / 20].fill(0);
    rewrite(&broken);
    let o = lode(&["-q", "tile", r, "1"]);
    assert!(!o.status.success(), "a tile read zeroed compressed pixels");
    let left: Vec<String> = std::fs::read_dir(run.join("tiles"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["0000"], "a failed tile left {left:?} in the tiles' folder: {}", stderr(&o));

    // Put back as it was, the run completes.
    rewrite(&original);
    assert!(lode(&["-q", "tile", r, "1"]).status.success());
    let o = lode(&["-q", "mosaic", r]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(out.join("prospectivity.tif").exists());
}

#[test]
fn slurm_and_pbs_launchers_chain_the_stages_with_the_resources_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let evidence = scene(d);
    let cfg = config(d, "c.toml", &evidence, &d.join("out"));
    for engine in ["slurm", "pbs"] {
        let run = d.join(engine);
        let o = lode(&[
            "-q",
            "plan",
            cfg.to_str().unwrap(),
            "--tiles",
            "5",
            "--engine",
            engine,
            "--out",
            run.to_str().unwrap(),
            "--partition",
            "work",
            "--account",
            "geo123",
            "--mem",
            "8G",
            "--time",
            "01:30:00",
            "--threads",
            "4",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let submit = std::fs::read_to_string(run.join("submit.sh")).unwrap();
        let read = |f: &str| std::fs::read_to_string(run.join(f)).unwrap();
        if engine == "slurm" {
            let tile = read("tile.sbatch");
            for line in [
                "#SBATCH --partition=work",
                "#SBATCH --account=geo123",
                "#SBATCH --mem=8G",
                "#SBATCH --time=01:30:00",
                "#SBATCH --cpus-per-task=4",
            ] {
                assert!(tile.contains(line), "{line} not in:\n{tile}");
            }
            assert!(tile.contains("tile") && tile.contains("\"$SLURM_ARRAY_TASK_ID\"") && tile.contains("--threads 4"));
            assert!(submit.contains("--array=0-4 prepare.sbatch"), "{submit}");
            assert!(submit.contains("--dependency=afterok:$prepare --kill-on-invalid-dep=yes fit.sbatch"), "{submit}");
            assert!(
                read("prepare.sbatch").contains("prepare")
                    && read("prepare.sbatch").contains("\"$SLURM_ARRAY_TASK_ID\"")
            );
            assert!(submit.contains("--array=0-4 --dependency=afterok:$fit"), "{submit}");
            assert!(submit.contains("--dependency=afterok:$tiles"), "{submit}");
        } else {
            let tile = read("tile.pbs");
            for line in [
                "#PBS -J 0-4",
                "#PBS -q work",
                "#PBS -A geo123",
                "#PBS -l select=1:ncpus=4:mem=8gb",
                "#PBS -l walltime=01:30:00",
            ] {
                assert!(tile.contains(line), "{line} not in:\n{tile}");
            }
            assert!(tile.contains("\"$PBS_ARRAY_INDEX\""));
            assert!(
                read("prepare.pbs").contains("#PBS -J 0-4") && read("prepare.pbs").contains("\"$PBS_ARRAY_INDEX\"")
            );
            assert!(submit.contains("qsub -W depend=afterok:$prepare fit.pbs"), "{submit}");
            assert!(submit.contains("qsub -W depend=afterok:$fit tile.pbs"), "{submit}");
            assert!(submit.contains("qsub -W depend=afterok:$tiles mosaic.pbs"), "{submit}");
        }
        // Every script is valid shell.
        for f in std::fs::read_dir(&run).unwrap().flatten() {
            let p = f.path();
            if p.is_file() && p.extension().is_some_and(|e| e != "json") {
                let o = Command::new("sh").args(["-n", p.to_str().unwrap()]).output().unwrap();
                assert!(o.status.success(), "{}: {}", p.display(), String::from_utf8_lossy(&o.stderr));
            }
        }
    }
}

/// A single-node SLURM cluster on loopback in a temporary folder: munged, slurmctld and
/// slurmd started by the test, stopped by PID when dropped (also when the test fails).
struct Slurm {
    conf: PathBuf,
    daemons: Vec<(&'static str, std::process::Child)>,
    // Dropped after the daemons are stopped (fields drop after `Drop::drop`).
    _cgroups: CgroupMounts,
}

/// The cgroup v1 hierarchies slurmd needs to start (even with `proctrack/linuxproc` and
/// `task/none`), mounted by the test only when `/sys/fs/cgroup` is not a mount point: a
/// chroot such as the fresh-machine check's, whose sysfs has none. A booted machine has
/// them, and nothing is mounted. Each hierarchy is mounted as the kernel groups its
/// controllers (`/proc/cgroups`), plus `name=systemd`; unmounted again, deepest first.
struct CgroupMounts(Vec<PathBuf>);

impl CgroupMounts {
    fn ensure() -> CgroupMounts {
        let root = Path::new("/sys/fs/cgroup");
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        if mountinfo.lines().any(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup")) {
            return CgroupMounts(Vec::new());
        }
        let mut mounts = CgroupMounts(Vec::new());
        std::fs::create_dir_all(root).unwrap();
        tool("mount", &["-t", "tmpfs", "-o", "mode=755", "cgroup_root", root.to_str().unwrap()]);
        mounts.0.push(root.to_path_buf());
        // Controllers sharing a hierarchy id are mounted together (`cpu,cpuacct`).
        let mut hierarchies: std::collections::BTreeMap<u32, Vec<String>> = Default::default();
        for line in std::fs::read_to_string("/proc/cgroups").unwrap().lines().filter(|l| !l.starts_with('#')) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if let [name, id, _, "1"] = f[..] {
                if let Ok(id @ 1..) = id.parse::<u32>() {
                    hierarchies.entry(id).or_default().push(name.to_string());
                }
            }
        }
        let options = hierarchies
            .into_values()
            .map(|c| (c.join(","), c.join(",")))
            .chain([("systemd".to_string(), "none,name=systemd".to_string())]);
        for (dir, opts) in options {
            let d = root.join(dir);
            std::fs::create_dir_all(&d).unwrap();
            tool("mount", &["-t", "cgroup", "-o", &opts, "cgroup", d.to_str().unwrap()]);
            mounts.0.push(d);
        }
        mounts
    }
}

impl Drop for CgroupMounts {
    fn drop(&mut self) {
        while let Some(d) = self.0.pop() {
            let _ = Command::new("umount").arg(&d).status();
        }
    }
}

impl Slurm {
    fn start(dir: &Path) -> Slurm {
        for bin in ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "setpriv"] {
            let found = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].iter().any(|d| Path::new(d).join(bin).exists());
            assert!(found, "`{bin}` is not installed: `make test-deps` installs slurmctld slurmd slurm-client munge");
        }
        let mut s = Slurm { conf: dir.join("slurm.conf"), daemons: Vec::new(), _cgroups: CgroupMounts::ensure() };
        let munge = dir.join("munge");
        for sub in ["state", "spool", "munge"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // munged refuses a socket folder others cannot traverse; it runs as the munge user.
        let m = munge.to_str().unwrap();
        tool("chmod", &["755", dir.to_str().unwrap(), m]);
        tool("chown", &["munge:munge", m]);
        let socket = munge.join("socket");
        let child = Command::new("setpriv")
            .args(["--reuid=munge", "--regid=munge", "--init-groups", "/usr/sbin/munged", "-F"])
            .arg(format!("--socket={}", socket.display()))
            .arg(format!("--pid-file={m}/pid"))
            .arg(format!("--log-file={m}/log"))
            .arg(format!("--seed-file={m}/seed"))
            .stdout(log(dir, "munged.out"))
            .stderr(log(dir, "munged.err"))
            .spawn()
            .expect("munged starts");
        s.daemons.push(("munged", child));
        s.wait_for("munge socket", || socket.exists());
        let host = tool("hostname", &[]).trim().to_string();
        let d = dir.display();
        // `batch_sched_delay=0`: SLURM starts the next batch job on its next scheduling
        // cycle (about 1 s here) rather than up to 3 s later (benches/README.md, `cluster`).
        let conf = format!(
            "ClusterName=lodetest\nSlurmctldHost={host}(127.0.0.1)\nSlurmctldPort={}\nSlurmdPort={}\n\
             AuthType=auth/munge\nAuthInfo=socket={}\nCredType=cred/munge\nStateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\nSlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\nProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\nSelectType=select/cons_tres\nSelectTypeParameters=CR_Core\n\
             JobAcctGatherType=jobacct_gather/none\nAccountingStorageType=accounting_storage/none\nMpiDefault=none\n\
             ReturnToService=2\nSlurmUser=root\nSlurmdUser=root\n\
             SchedulerParameters=batch_sched_delay=0\n\
             NodeName={host} NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN\n\
             PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            common::free_port(),
            common::free_port(),
            socket.display()
        );
        std::fs::write(&s.conf, conf).unwrap();
        let c = s.conf.to_str().unwrap().to_string();
        let ctld = Command::new("slurmctld")
            .args(["-D", "-c", "-f", &c])
            .stdout(log(dir, "slurmctld.out"))
            .stderr(log(dir, "slurmctld.err"))
            .spawn()
            .expect("slurmctld starts");
        s.daemons.push(("slurmctld", ctld));
        let slurmd = Command::new("slurmd")
            .args(["-D", "-N", &host, "-f", &c])
            .stdout(log(dir, "slurmd.out"))
            .stderr(log(dir, "slurmd.err"))
            .spawn()
            .expect("slurmd starts");
        s.daemons.push(("slurmd", slurmd));
        s.wait_for("the node idle in sinfo", || {
            s.cmd("sinfo")
                .args(["-h", "-o", "%T"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        });
        s
    }

    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf).env_remove("LODE");
        c
    }

    fn wait_for(&self, what: &str, ok: impl Fn() -> bool) {
        let start = std::time::Instant::now();
        while !ok() {
            assert!(start.elapsed().as_secs() < 60, "timed out waiting for {what}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    }

    /// Waits until the queue is empty (every job finished, failed or cancelled).
    fn wait_queue_empty(&self, timeout_s: u64) {
        let start = std::time::Instant::now();
        loop {
            let o = self.cmd("squeue").args(["-h", "-o", "%i %T"]).output().expect("squeue");
            let q = String::from_utf8_lossy(&o.stdout).trim().to_string();
            if o.status.success() && q.is_empty() {
                return;
            }
            assert!(start.elapsed().as_secs() < timeout_s, "the queue did not empty in {timeout_s} s: {q}");
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    }
}

/// A daemon's output file in the cluster's folder.
fn log(dir: &Path, name: &str) -> std::fs::File {
    std::fs::File::create(dir.join(name)).expect("log file")
}

impl Drop for Slurm {
    fn drop(&mut self) {
        // slurmd, then slurmctld, then munged: each by its PID, SIGTERM then SIGKILL.
        while let Some((name, mut child)) = self.daemons.pop() {
            unsafe {
                libc::kill(child.id() as i32, libc::SIGTERM);
            }
            let start = std::time::Instant::now();
            while child.try_wait().ok().flatten().is_none() && start.elapsed().as_secs() < 10 {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            if child.try_wait().ok().flatten().is_none() {
                eprintln!("{name} ignored SIGTERM; killing it");
                child.kill().ok();
                child.wait().ok();
            }
        }
    }
}

#[test]
fn on_a_real_slurm_the_launcher_runs_a_failed_tile_stops_the_mosaic_and_its_rerun_completes_the_single_runs_map() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let evidence = scene(d);
    let single = d.join("single");
    let cfg = config(d, "single.toml", &evidence, &single);
    let o = lode(&["-q", "run", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let slurm = Slurm::start(&d.join("slurm"));

    let out = d.join("tiled");
    let cfg = config(d, "tiled.toml", &evidence, &out);
    let run = d.join("run");
    plan(&cfg, &run, 4, "slurm", &["--threads", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The fault: tile array task 2 dies before lode starts (a node lost, a job killed).
    let wrapper = write(
        d,
        "lode-fails-on-task-2.sh",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = tile ] && [ \"${{SLURM_ARRAY_TASK_ID:-}}\" = 2 ]; then echo 'injected failure' >&2; exit 3; fi\nexec {} \"$@\"\n",
            env!("CARGO_BIN_EXE_lode")
        ),
    );
    tool("chmod", &["755", wrapper.to_str().unwrap()]);
    let o = slurm.cmd("sh").arg(run.join("submit.sh")).env("LODE", &wrapper).output().unwrap();
    assert!(o.status.success(), "submit.sh: {}", String::from_utf8_lossy(&o.stderr));
    let ids = String::from_utf8_lossy(&o.stdout).split_whitespace().count();
    assert_eq!(ids, 4, "submit.sh prints the prepare, fit, tiles and mosaic job ids");
    slurm.wait_queue_empty(600);
    for i in [0, 1, 3] {
        assert!(run.join(format!("tiles/{i:04}/tile.json")).exists(), "tile {i} did not finish");
    }
    assert!(!run.join("tiles/0002").exists(), "the failed tile left a tile behind");
    assert!(!out.join("prospectivity.tif").exists(), "the mosaic ran after a failed tile");

    // Rerun that one tile alone, then the mosaic, as docs/cluster.md says.
    let sbatch = |args: &[&str]| {
        let o = slurm.cmd("sbatch").current_dir(&run).args(args).output().unwrap();
        assert!(o.status.success(), "sbatch {args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let tile = sbatch(&["--parsable", "--array=2", "tile.sbatch"]);
    sbatch(&["--parsable", &format!("--dependency=afterok:{tile}"), "mosaic.sbatch"]);
    slurm.wait_queue_empty(600);
    let log = std::fs::read_dir(run.join("logs"))
        .unwrap()
        .flatten()
        .map(|e| e.path().display().to_string())
        .collect::<Vec<_>>();
    assert!(out.join("prospectivity.tif").exists(), "the mosaic did not run; logs: {log:?}");
    for map in ["prospectivity.tif", "uncertainty.tif"] {
        assert!(decoded(&single.join(map)) == decoded(&out.join(map)), "{map} differs from the single run");
    }
    let (a, b) = (metrics(&single), metrics(&out));
    assert_eq!(a["auc"], b["auc"]);
    assert_eq!(a["success_rate"], b["success_rate"]);
    assert_eq!(a["targets"], b["targets"]);
    assert_eq!(std::fs::read(single.join("targets.csv")).unwrap(), std::fs::read(out.join("targets.csv")).unwrap());
    drop(slurm);
}

#[test]
fn a_plan_with_every_input_on_vsis3_of_a_local_s3_server_gives_the_local_single_runs_maps() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let evidence = scene(d);
    let single = d.join("single");
    let cfg = config(d, "single.toml", &evidence, &single);
    let o = lode(&["-q", "run", cfg.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    let (server, endpoint) = s3::moto();
    let result = (|| -> Result<(), String> {
        let files = [
            "syn/granite_dist.tif",
            "syn/magnetic.tif",
            "syn/alteration.tif",
            "syn/noise_smooth.tif",
            "syn/magclass.tif",
            "syn/faults.geojson",
            "syn/deposits.geojson",
            "geochem.geojson",
            "lith.geojson",
        ];
        s3::upload(&endpoint, d, "scene", &files);
        // The same config with every input on the server; the run folder and outputs local.
        let out = d.join("s3-out");
        let local = std::fs::read_to_string(config(d, "s3-local.toml", &evidence, &out)).unwrap();
        let text = local.replace(&format!("path = \"{}/", d.display()), "path = \"/vsis3/scene/");
        assert!(!text.contains(&format!("path = \"{}", d.display())), "an input left local:\n{text}");
        let s3 = write(d, "s3.toml", &text);
        let run = d.join("s3-run");
        let stage = |args: &[&str]| -> Result<(), String> {
            let o = s3::lode_s3(&endpoint, args);
            if o.status.success() {
                Ok(())
            } else {
                Err(format!("{args:?}: {}", stderr(&o)))
            }
        };
        let r = run.to_str().unwrap();
        stage(&["-q", "plan", s3.to_str().unwrap(), "--tiles", "3", "--engine", "list", "--out", r])?;
        for i in ["0", "1", "2"] {
            stage(&["-q", "prepare", r, i])?;
        }
        stage(&["-q", "fit", r])?;
        for i in ["0", "1", "2"] {
            stage(&["-q", "tile", r, i])?;
        }
        stage(&["-q", "mosaic", r])?;
        for map in ["prospectivity.tif", "uncertainty.tif"] {
            if decoded(&single.join(map)) != decoded(&out.join(map)) {
                return Err(format!("{map} from /vsis3/ differs from the local single run"));
            }
        }
        let (a, b) = (metrics(&single), metrics(&out));
        if a["auc"] != b["auc"] || a["targets"] != b["targets"] {
            return Err(format!("metrics differ: {} vs {}", a["auc"], b["auc"]));
        }
        Ok(())
    })();
    drop(server);
    result.unwrap_or_else(|e| panic!("{e}"));
}
