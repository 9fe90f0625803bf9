//! Runs with their inputs AND outputs on object storage: a local S3 server (moto, started
//! on loopback by each test and stopped by its PID) and a loopback HTTP server for
//! `/vsicurl/` inputs. A tiled plan whose run folder, tiles and outputs all live under
//! `/vsis3/`, and a single `lode run` writing to `/vsis3/`, are downloaded (with boto3, an
//! independent client) and compared with the same config run locally; a run killed
//! before its commit publishes nothing.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::s3::{boto, download, keys, lode_s3, moto, s3_env, venv, wait_up, Server};
use common::{free_port, lode, stderr, tool, write};
use lode::grid::Window;

const COLS: usize = 240;
const ROWS: usize = 200;

fn ok(o: &Output, what: &str) {
    assert!(o.status.success(), "{what}: {}", stderr(o));
}

/// The scene's input files (relative to the test folder).
const INPUTS: [&str; 8] = [
    "syn/granite_dist.tif",
    "syn/magnetic.tif",
    "syn/deposits.geojson",
    "faults.shp",
    "faults.shx",
    "faults.dbf",
    "faults.prj",
    "samples.geojson",
];

/// A generated scene in `dir`: rasters, a Shapefile (a multi-file input) and points.
fn scene(dir: &Path) {
    let syn = dir.join("syn");
    let o = lode(&["-q", "synth", "--cols", &COLS.to_string(), "--rows", &ROWS.to_string(), syn.to_str().unwrap()]);
    ok(&o, "synth");
    tool(
        "ogr2ogr",
        &[
            "-f",
            "ESRI Shapefile",
            dir.join("faults.shp").to_str().unwrap(),
            syn.join("faults.geojson").to_str().unwrap(),
        ],
    );
    let points: Vec<String> = (0..40)
        .map(|i| {
            let x = 500_150.0 + (i * 7919 % 239) as f64 * 100.0;
            let y = 7_680_050.0 + (i * 104_729 % 199) as f64 * 100.0;
            let v = 10.0 + (x - 500_000.0) / 2000.0 + ((i * 31) % 17) as f64 / 4.0;
            format!(r#"{{"type":"Feature","properties":{{"cu":{v}}},"geometry":{{"type":"Point","coordinates":[{x},{y}]}}}}"#)
        })
        .collect();
    let crs = r#""crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::32754"}}"#;
    write(
        dir,
        "samples.geojson",
        &format!(r#"{{"type":"FeatureCollection",{crs},"features":[{}]}}"#, points.join(",")),
    );
}

/// The scene's config with its inputs under `base` (a folder, `/vsis3/bucket` or
/// `/vsicurl/http://...`) and its outputs in `out`.
fn config(dir: &Path, name: &str, base: &str, out: &str) -> PathBuf {
    write(
        dir,
        name,
        &format!(
            r#"
[project]
name = "remote"
seed = 5

[grid]
crs = "EPSG:32754"
bounds = [500000, 7680000, 524000, 7700000]
cell_size = 100
block_size = 64

[labels]
path = "{base}/syn/deposits.geojson"
negative_buffer = 0
negatives_per_positive = 5

[[evidence]]
name = "granite_dist"
kind = "raster"
path = "{base}/syn/granite_dist.tif"

[[evidence]]
name = "magnetic_focal"
kind = "focal"
path = "{base}/syn/magnetic.tif"
statistic = "mean"
radius = 450.0

[[evidence]]
name = "fault_dist"
kind = "distance"
path = "{base}/faults.shp"

[[evidence]]
name = "cu_idw"
kind = "interpolate"
path = "{base}/samples.geojson"
attribute = "cu"

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
"#
        ),
    )
}

/// Uploads the scene's inputs to `bucket` (created) on the server at `endpoint`, and makes
/// the bucket `out`.
fn upload(endpoint: &str, dir: &Path, bucket: &str) {
    common::s3::upload(endpoint, dir, bucket, &INPUTS);
    boto(endpoint, "s.create_bucket(Bucket='out')");
}

/// The decoded values of band 1 of a map, as bits (nodata included).
fn decoded(path: &Path) -> Vec<u32> {
    let w = Window { col: 0, row: 0, cols: COLS, rows: ROWS };
    let (values, _) = lode::io::cog::read_window(path, &w).expect("read map");
    values.iter().map(|v| v.to_bits()).collect()
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .expect("json")
}

/// `metrics.json` without what differs between two runs of the same scene from
/// different places: the timings, the config's checksum, and the inputs' folder (`base`,
/// in the layers' descriptions) written as `local`.
fn comparable_metrics(dir: &Path, base: &str, local: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("metrics.json")).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&text.replace(base, &local.display().to_string())).unwrap();
    let o = m.as_object_mut().unwrap();
    o.remove("timings_s");
    o.remove("config_sha256");
    m
}

/// The downloaded run in `got` equals the local run in `want`: maps decoded bit for bit,
/// valid COGs, metrics, targets.csv; and its manifest hashes every remote input (the
/// Shapefile's whole set) with the local file's SHA-256.
fn assert_same_run(want: &Path, got: &Path, dir: &Path, base: &str) {
    for map in ["prospectivity.tif", "uncertainty.tif"] {
        assert!(decoded(&want.join(map)) == decoded(&got.join(map)), "{map} differs from the local run");
        let info = common::gdalinfo(&got.join(map), &[]);
        assert_eq!(info["metadata"]["IMAGE_STRUCTURE"]["LAYOUT"], "COG", "{map}: {info}");
        let validator = "/usr/share/doc/python3-gdal/examples/validate_cloud_optimized_geotiff.py";
        if Path::new(validator).exists() {
            tool("/usr/bin/python3", &[validator, got.join(map).to_str().unwrap()]);
        }
    }
    let (a, b) = (comparable_metrics(want, base, dir), comparable_metrics(got, base, dir));
    if a != b {
        let (a, b) = (serde_json::to_string_pretty(&a).unwrap(), serde_json::to_string_pretty(&b).unwrap());
        let first = a.lines().zip(b.lines()).find(|(x, y)| x != y);
        panic!("metrics.json differ from the local run's, first at {first:?}");
    }
    assert_eq!(std::fs::read(want.join("targets.csv")).unwrap(), std::fs::read(got.join("targets.csv")).unwrap());
    let manifest = json(&got.join("manifest.json"));
    let inputs = manifest["inputs"].as_array().unwrap();
    for f in INPUTS {
        let (bytes, sha) = lode::manifest::sha256_file(&dir.join(f)).unwrap();
        let entry = inputs
            .iter()
            .find(|i| i["path"].as_str().unwrap().ends_with(&format!("/{f}")))
            .unwrap_or_else(|| panic!("{f} not in the manifest's inputs: {inputs:?}"));
        assert!(lode::io::is_virtual(Path::new(entry["path"].as_str().unwrap())), "{entry}");
        assert_eq!((entry["bytes"].as_u64().unwrap(), entry["sha256"].as_str().unwrap()), (bytes, sha.as_str()), "{f}");
    }
    // Every output the manifest lists is there, with its checksum.
    for o in manifest["outputs"].as_array().unwrap() {
        let (name, sha) = (o[0].as_str().unwrap(), o[1].as_str().unwrap());
        assert_eq!(lode::manifest::sha256_file(&got.join(name)).unwrap().1, sha, "{name}");
    }
}

#[test]
fn a_tiled_plan_with_inputs_outputs_and_run_folder_on_vsis3_gives_the_local_runs_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    scene(d);
    let local = d.join("local");
    ok(
        &lode(&[
            "-q",
            "run",
            config(d, "local.toml", &d.display().to_string(), &local.display().to_string()).to_str().unwrap(),
        ]),
        "local run",
    );

    let (_server, ep) = moto();
    upload(&ep, d, "scene");
    let cfg = config(d, "s3.toml", "/vsis3/scene", "/vsis3/out/tiled");
    let cfg = cfg.to_str().unwrap();
    let run = "/vsis3/out/run";
    // A SLURM launcher needs a shared file system: refused, naming the way out.
    let o = lode_s3(&ep, &["-q", "plan", cfg, "--tiles", "3", "--engine", "slurm", "--out", run]);
    assert!(!o.status.success() && stderr(&o).contains("`list` engine"), "{}", stderr(&o));
    ok(&lode_s3(&ep, &["-q", "plan", cfg, "--tiles", "3", "--engine", "list", "--out", run]), "plan");
    assert!(!Path::new("/vsis3").exists(), "a local folder /vsis3 was made");
    for i in ["0", "1", "2"] {
        ok(&lode_s3(&ep, &["-q", "prepare", run, i]), "prepare");
    }
    ok(&lode_s3(&ep, &["-q", "fit", run]), "fit");
    for i in ["0", "2"] {
        ok(&lode_s3(&ep, &["-q", "tile", run, i]), "tile");
    }
    // The mosaic refuses a missing tile, naming it ...
    let o = lode_s3(&ep, &["-q", "mosaic", run]);
    assert!(!o.status.success() && stderr(&o).contains("1 of 3 tiles are missing or unfinished: 1"), "{}", stderr(&o));
    ok(&lode_s3(&ep, &["-q", "tile", run, "1"]), "tile 1");
    // ... and a tile of another plan (its record's plan hash changed on the server).
    let good = d.join("good.json");
    boto(
        &ep,
        &format!(
            "import json\nk='run/tiles/0002/tile.json'\ns.download_file('out',k,'{good}')\n\
             r=json.load(open('{good}')); r['plan_hash']='0'*64\n\
             s.put_object(Bucket='out',Key=k,Body=json.dumps(r).encode())",
            good = good.display()
        ),
    );
    let o = lode_s3(&ep, &["-q", "mosaic", run]);
    assert!(!o.status.success() && stderr(&o).contains("belongs to another plan"), "{}", stderr(&o));
    assert!(keys(&ep, "out", "tiled").is_empty(), "a refused mosaic published something");
    boto(&ep, &format!("s.upload_file('{}','out','run/tiles/0002/tile.json')", good.display()));
    ok(&lode_s3(&ep, &["-q", "mosaic", run]), "mosaic");

    // The run folder lives under the prefix: plan, launcher, fit, every tile's maps and record.
    let run_keys = keys(&ep, "out", "run");
    for k in ["plan.json", "commands.txt", "fit/model.json"] {
        assert!(run_keys.iter().any(|x| x == k), "{k} not under the run prefix: {run_keys:?}");
    }
    for t in 0..3 {
        for f in ["prospectivity.tif", "uncertainty.tif", "tile.json"] {
            let k = format!("tiles/{t:04}/{f}");
            assert!(run_keys.contains(&k), "{k} not under the run prefix: {run_keys:?}");
        }
    }
    let got = d.join("got");
    let names = download(&ep, "out", "tiled", &got);
    assert!(names.iter().any(|n| n == "manifest.json"), "{names:?}");
    assert_same_run(&local, &got, d, "/vsis3/scene");
}

#[test]
fn a_single_run_from_vsicurl_to_vsis3_equals_the_local_run_and_a_killed_run_publishes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    scene(d);
    let local = d.join("local");
    ok(
        &lode(&[
            "-q",
            "run",
            config(d, "local.toml", &d.display().to_string(), &local.display().to_string()).to_str().unwrap(),
        ]),
        "local run",
    );

    let (_s3, ep) = moto();
    upload(&ep, d, "scene");
    // Inputs over plain HTTP (/vsicurl/) from a loopback server of the scene's folder.
    let port = free_port();
    let http = Server(
        Command::new(venv().join("python"))
            .args(["-m", "http.server", "--bind", "127.0.0.1", "--directory", d.to_str().unwrap(), &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_up(port, "http.server");
    let base = format!("/vsicurl/http://127.0.0.1:{port}");
    let cfg = config(d, "curl.toml", &base, "/vsis3/out/single");
    ok(&lode_s3(&ep, &["-q", "run", cfg.to_str().unwrap()]), "run to /vsis3/");
    let got = d.join("got");
    let published = download(&ep, "out", "single", &got);
    assert!(!published.iter().any(|k| k.contains(".lode-staging")), "{published:?}");
    assert_same_run(&local, &got, d, &base);
    drop(http);

    // A run killed (SIGKILL: no clean-up at all) while its outputs are staged publishes
    // nothing: under a fresh prefix no object at all, over a finished run the previous
    // run's objects and manifest unchanged.
    let before = boto(&ep, "print(s.get_object(Bucket='out',Key='single/manifest.json')['Body'].read().decode())");
    for (prefix, cfg_name) in [("fresh", "fresh.toml"), ("single", "again.toml")] {
        let staging = d.join(format!("tmp-{prefix}"));
        std::fs::create_dir_all(&staging).unwrap();
        let cfg = config(d, cfg_name, "/vsis3/scene", &format!("/vsis3/out/{prefix}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_lode"))
            .args(["-q", "run", cfg.to_str().unwrap()])
            .envs(s3_env(&ep))
            .env("TMPDIR", &staging)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let staged_a_map =
            || std::fs::read_dir(&staging).unwrap().flatten().any(|e| e.path().join("prospectivity.tif").exists());
        let t = std::time::Instant::now();
        while !staged_a_map() {
            assert!(child.try_wait().unwrap().is_none(), "the run ended before it staged a map");
            assert!(t.elapsed().as_secs() < 120, "no map staged in 120 s");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.kill().unwrap();
        assert!(!child.wait().unwrap().success());
        match prefix {
            "fresh" => assert!(keys(&ep, "out", "fresh").is_empty(), "a killed run published objects"),
            _ => {
                assert_eq!(keys(&ep, "out", "single"), published, "a killed run changed the published run");
                let after =
                    boto(&ep, "print(s.get_object(Bucket='out',Key='single/manifest.json')['Body'].read().decode())");
                assert_eq!(before, after);
            }
        }
    }
}
