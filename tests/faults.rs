//! Fault injection: the real binary interrupted by signals at several points of a run,
//! writing to a full disk (a file-size limit: mounting a tmpfs needs privileges CI lacks)
//! and to a read-only folder, two runs at once, and a run into a folder holding another
//! model kind's outputs. Every case asserts that the previous outputs are intact or wholly
//! replaced, never mixed; that no staging folder survives the next run; a clear message
//! and a non-zero exit.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;

/// The shipped logistic demo config (targets on, no report: faster) writing to `out`.
fn logistic(dir: &Path, out: &Path) -> PathBuf {
    shipped_config(dir, "cloncurry.toml", out, "report = false\n")
}

/// A finished logistic run in `dir/out`: the folder, its config and its snapshot.
fn finished_logistic_run(dir: &Path) -> (PathBuf, PathBuf, BTreeMap<String, Vec<u8>>) {
    let out = dir.join("out");
    let config = logistic(dir, &out);
    let o = lode(&["-q", "run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = snapshot(&out);
    (out, config, before)
}

/// The shipped weights-of-evidence config writing to `out`.
fn wofe(dir: &Path, out: &Path) -> PathBuf {
    shipped_config(dir, "cloncurry-wofe.toml", out, "")
}

/// Every file of `dir` but the lock (whose holder line each run rewrites): name -> bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name == ".lode-lock" {
            continue;
        }
        // Output subfolders (`stac/`) by their files; lode's own folders (staging, old set) whole.
        if e.path().is_dir() && !name.starts_with(".lode-") {
            for (sub, bytes) in snapshot(&e.path()) {
                m.insert(format!("{name}/{sub}"), bytes);
            }
            continue;
        }
        let bytes = if e.path().is_dir() { b"<dir>".to_vec() } else { std::fs::read(e.path()).unwrap() };
        m.insert(name, bytes);
    }
    m
}

fn staging_folders(dir: &Path) -> Vec<String> {
    snapshot(dir).into_keys().filter(|n| n.starts_with(".lode-staging-") || n.starts_with(".lode-old-")).collect()
}

/// The published outputs are exactly the manifest's list (plus the manifest and lode's
/// bookkeeping), and every checksum matches: one complete set, nothing mixed in.
fn assert_one_complete_set(out: &Path, extra_user_files: &[&str]) {
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let mut expected: Vec<String> =
        manifest["outputs"].as_array().unwrap().iter().map(|o| o[0].as_str().unwrap().to_string()).collect();
    expected.extend(["manifest.json", ".lode-outputs"].map(String::from));
    expected.extend(extra_user_files.iter().map(|s| s.to_string()));
    expected.sort();
    let found: Vec<String> = snapshot(out).into_keys().collect();
    assert_eq!(found, expected, "the folder holds exactly one run's outputs");
    for o in manifest["outputs"].as_array().unwrap() {
        let name = o[0].as_str().unwrap();
        let sha = tool("sha256sum", &[out.join(name).to_str().unwrap()]);
        assert_eq!(&sha[..64], o[1].as_str().unwrap(), "{name} is not the manifest's");
    }
}

/// Starts `lode run config` with its stderr read line by line into a channel.
fn spawn(config: &Path) -> (Child, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lode"))
        .args(["run", config.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(|l| l.ok()) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    (child, rx)
}

/// Waits (at most a minute) until a stderr line contains `marker`; `None`: the child's
/// staging folder exists in `out` instead.
fn wait_for(rx: &mpsc::Receiver<String>, marker: Option<&str>, out: &Path, seen: &mut Vec<String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "never reached {marker:?}: {seen:#?}");
        if marker.is_none() && out.exists() && staging_folders(out).iter().any(|n| n.starts_with(".lode-staging-")) {
            return;
        }
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(5)) {
            let hit = marker.is_some_and(|m| line.contains(m));
            seen.push(line);
            if hit {
                return;
            }
        }
    }
}

fn kill(child: &Child, signal: i32) {
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

#[test]
fn signals_at_each_stage_leave_the_previous_outputs_whole_and_no_staging_after_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, config, before) = finished_logistic_run(tmp.path());

    // (signal, where: a stage's log line, None = as soon as the staging folder exists).
    // "fit:" is logged when fitting ends and prediction starts; "evaluate:" when the
    // target areas start.
    let cases = [
        (libc::SIGINT, None, "preparation"),
        (libc::SIGTERM, Some("prepare evidence:"), "fitting"),
        (libc::SIGINT, Some("fit:"), "mid-prediction"),
        (libc::SIGTERM, Some("evaluate:"), "targets"),
        (libc::SIGKILL, Some("fit:"), "mid-prediction"),
        (libc::SIGKILL, Some("evaluate:"), "targets"),
    ];
    let mut table = Vec::new();
    for (signal, marker, stage) in cases {
        let (mut child, rx) = spawn(&config);
        let mut seen = Vec::new();
        wait_for(&rx, marker, &out, &mut seen);
        kill(&child, signal);
        let status = child.wait().unwrap();
        // Every line up to the end of its stderr (the reader thread may not have sent the last yet).
        let rest: Vec<String> = rx.iter().collect();
        table.push(format!("signal {signal} during {stage}: {status:?}, {}", rest.join(" | ")));
        if signal == libc::SIGKILL {
            assert_eq!(status.signal(), Some(libc::SIGKILL));
        } else {
            assert_eq!(status.code(), Some(128 + signal), "{stage}: {status:?} {rest:?}");
            assert!(rest.iter().any(|l| l.contains("interrupted")), "{stage}: says why it stopped: {rest:?}");
            assert!(staging_folders(&out).is_empty(), "{stage}: the staging folder is removed on {signal}");
        }
        let mut now = snapshot(&out);
        now.retain(|n, _| !n.starts_with(".lode-staging-"));
        assert!(now == before, "{stage}: the previous outputs are untouched");
    }
    eprintln!("{}", table.join("\n"));

    // The next run removes what SIGKILL left and publishes one complete set.
    let o = lode(&["-q", "run", config.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(staging_folders(&out).is_empty(), "{:?}", staging_folders(&out));
    assert_one_complete_set(&out, &[]);
}

#[test]
fn a_second_concurrent_run_is_refused_naming_the_first_which_completes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let config = logistic(tmp.path(), &out);
    let (mut first, _rx) = spawn(&config);
    let mut seen = Vec::new();
    wait_for(&_rx, None, &out, &mut seen);
    let o = lode(&["run", config.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("another lode run is writing to this folder"), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "names the holder: {err}");
    assert!(first.wait().unwrap().success());
    assert_one_complete_set(&out, &[]);
}

#[test]
fn a_run_into_another_model_kinds_outputs_replaces_them_whole_and_keeps_the_users_files() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = lode(&["-q", "run", wofe(tmp.path(), &out).to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    for name in ["posterior_std.tif", "confidence.tif"] {
        assert!(out.join(name).exists(), "the wofe run writes {name}");
    }
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = lode(&["-q", "run", logistic(tmp.path(), &out).to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let names: Vec<String> = snapshot(&out).into_keys().collect();
    assert!(
        !names.iter().any(|n| n == "posterior_std.tif" || n == "confidence.tif" || n.starts_with("weights_")),
        "{names:?}"
    );
    assert_one_complete_set(&out, &["notes.txt"]);
    assert_eq!(std::fs::read_to_string(out.join("notes.txt")).unwrap(), "mine");
}

#[test]
fn a_full_disk_fails_clearly_and_keeps_the_previous_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, config, before) = finished_logistic_run(tmp.path());
    // No file may grow past 512 KiB: the maps cannot be written.
    let o = Command::new("bash")
        .args(["-c", &format!("ulimit -f 512 && exec {} -q run {}", env!("CARGO_BIN_EXE_lode"), config.display())])
        .output()
        .unwrap();
    let err = stderr(&o);
    eprintln!("full disk: {:?} {err}", o.status);
    assert_eq!(o.status.code(), Some(1), "an error, not a kill by SIGXFSZ: {:?} {err}", o.status);
    // GDAL reports the short write when it reads the file back: the message names it.
    assert!(err.contains("writing") && err.contains(out.to_str().unwrap()), "{err}");
    assert!(snapshot(&out) == before, "the previous outputs are untouched");
    assert!(staging_folders(&out).is_empty());
}

#[test]
fn a_read_only_output_folder_fails_clearly_and_is_left_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, config, before) = finished_logistic_run(tmp.path());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lode"));
    cmd.args(["run", config.to_str().unwrap()]);
    if unsafe { libc::geteuid() } == 0 {
        // root writes through any mode bits: run as `nobody`, as a user would be.
        cmd.uid(65534).gid(65534);
    }
    let o = cmd.output().unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    let err = stderr(&o);
    eprintln!("read-only: {:?} {err}", o.status);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains(out.to_str().unwrap()) && err.contains("Permission denied"), "{err}");
    assert!(snapshot(&out) == before, "the previous outputs are untouched");
}
