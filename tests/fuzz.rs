//! Fuzzing of what users hand lode: the config parser and validation, and the raster and
//! vector readers, on mutated copies of the corpus in `tests/fixtures/fuzz/` (see its
//! README). Every mutant must give `Ok` or an error: a panic fails the test, an abort or
//! a crash fails the binary, and each case is bounded (small files, at most a few windows
//! read) so none can hang. About half a minute in all with `cargo test --release`.

mod common;

use std::path::{Path, PathBuf};

use proptest::prelude::*;

fn corpus(name: &str) -> PathBuf {
    common::root().join("tests/fixtures/fuzz").join(name)
}

/// One edit of a byte string: positions and lengths are taken modulo its length.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize, usize),
    Repeat(usize, usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Edit::Flip(p, b)),
        2 => (any::<usize>(), prop_oneof![Just(b'='), Just(b'"'), Just(b'['), Just(b'\n'), Just(b'-'), Just(b'9'), Just(b'.'), Just(b','), any::<u8>()])
            .prop_map(|(p, b)| Edit::Insert(p, b)),
        2 => (any::<usize>(), 1usize..64).prop_map(|(p, n)| Edit::Delete(p, n)),
        1 => (any::<usize>(), 1usize..64).prop_map(|(p, n)| Edit::Repeat(p, n)),
        1 => any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let n = bytes.len().max(1);
        match *e {
            Edit::Flip(p, b) if !bytes.is_empty() => bytes[p % n] ^= b.max(1),
            Edit::Insert(p, b) => bytes.insert(p % (bytes.len() + 1), b),
            Edit::Delete(p, k) if !bytes.is_empty() => {
                let at = p % n;
                bytes.drain(at..(at + k).min(bytes.len()));
            }
            Edit::Repeat(p, k) if !bytes.is_empty() => {
                let at = p % n;
                let span: Vec<u8> = bytes[at..(at + k).min(bytes.len())].to_vec();
                bytes.splice(at..at, span);
            }
            Edit::Truncate(p) => bytes.truncate(p % (bytes.len() + 1)),
            _ => {}
        }
    }
    bytes
}

/// A shipped config with its relative input paths made absolute (to data/cloncurry).
fn config_seed(name: &str) -> Vec<u8> {
    let data = common::cloncurry("");
    std::fs::read_to_string(corpus(name))
        .unwrap()
        .replace("path = \"", &format!("path = \"{}/", data.display()))
        .replace("template = \"", &format!("template = \"{}/", data.display()))
        .into_bytes()
}

/// The corpus raster's 24 x 20 grid (100 m cells, EPSG:7845), for the readers.
fn grid() -> lode::grid::Grid {
    let raw = lode::config::RawGrid {
        template: Some(corpus("faultdensity-24x20.tif")),
        crs: None,
        bounds: None,
        cell_size: None,
        mask: None,
        mask_layer: None,
        mask_crs: None,
        block_size: 16,
        min_coverage: 0.0,
    };
    lode::config::build_grid(&raw).unwrap()
}

/// A fixed seed: CI runs the same cases every time (a failure is reproducible), and the
/// corpus's saved regressions are replayed first.
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 3000,
        max_shrink_iters: 200,
        rng_seed: proptest::test_runner::RngSeed::Fixed(13),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutated_configs_parse_and_validate_or_fail_cleanly(
        seed in prop_oneof![Just("cloncurry.toml"), Just("cloncurry-wofe.toml"), Just("cloncurry-fuzzy.toml"), Just("li-pegmatite.toml")],
        edits in proptest::collection::vec(edit(), 1..6),
    ) {
        let bytes = mutate(config_seed(seed), &edits);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, &bytes).unwrap();
        // Parsing and validation (opening every input); a config that still loads is also
        // checked as `lode validate` does: the output folder and the evidence's classes.
        if let Ok(settings) = lode::Settings::load(&path) {
            let _ = lode::output::check_dir(&settings);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..config() })]

    #[test]
    fn mutated_rasters_open_and_read_or_fail_cleanly(
        seed in prop_oneof![Just("faultdensity-24x20.tif"), Just("dist2breccia-12x10.asc")],
        edits in proptest::collection::vec(edit(), 1..8),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let src = corpus(seed);
        let path = dir.path().join(seed);
        std::fs::write(&path, mutate(std::fs::read(&src).unwrap(), &edits)).unwrap();
        if seed.ends_with(".asc") {
            std::fs::copy(src.with_extension("prj"), path.with_extension("prj")).unwrap();
        }
        within(&path, read_raster);
    }

    #[test]
    fn mutated_vectors_open_and_read_or_fail_cleanly(edits in proptest::collection::vec(edit(), 1..8)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deposits.geojson");
        std::fs::write(&path, mutate(std::fs::read(corpus("deposits-5.geojson")).unwrap(), &edits)).unwrap();
        if let Ok(layer) = lode::io::vector::LayerRef::open("labels.path", &path, None, None) {
            let _ = layer.read(&grid(), None);
        }
    }
}

/// Runs `f(path)` on a thread and fails if it takes more than 30 s, keeping the mutant as
/// `target/fuzz-slow-NAME` to reproduce (a hang must not stall CI silently).
fn within(path: &Path, f: fn(&Path)) {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        f(&p);
        let _ = tx.send(());
    });
    if rx.recv_timeout(std::time::Duration::from_secs(30)).is_err() {
        let keep =
            common::root().join("target").join(format!("fuzz-slow-{}", path.file_name().unwrap().to_string_lossy()));
        std::fs::copy(path, &keep).unwrap();
        panic!("reading a mutated raster took more than 30 s; kept as {}", keep.display());
    }
}

/// Opens `path` as lode opens an evidence raster and reads it on its own grid and on the
/// corpus grid (a warp), at most four windows each.
fn read_raster(path: &Path) {
    use lode::config::Resampling;
    use lode::io::raster::{BandRef, GridBand};
    let Ok(band) = BandRef::open("evidence[0].path", path, 1) else { return };
    // A header mutated to claim millions of cells is opened, but not read or warped: a
    // warp reads the source at full resolution, which is slow by design, not a hang.
    if band.cols.saturating_mul(band.rows) > 1 << 20 {
        return;
    }
    let on = [band.grid(16), grid()];
    for g in on.iter() {
        let Ok(gb) = GridBand::new(&band, g, Resampling::Auto, false) else { continue };
        for w in g.windows().iter().take(4) {
            let _ = gb.read(g, w);
        }
    }
}

#[test]
fn the_corpus_itself_is_read_without_error() {
    for seed in ["cloncurry.toml", "cloncurry-wofe.toml", "cloncurry-fuzzy.toml"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, config_seed(seed)).unwrap();
        lode::Settings::load(&path).unwrap_or_else(|e| panic!("{seed}: {e}"));
    }
    let config = std::fs::read_to_string(corpus("li-pegmatite.toml")).unwrap();
    lode::config::RawConfig::parse(&config, Path::new("li-pegmatite.toml")).unwrap();
    for seed in ["faultdensity-24x20.tif", "dist2breccia-12x10.asc"] {
        let band = lode::io::raster::BandRef::open("t", &corpus(seed), 1).unwrap();
        assert!(band.cols * band.rows >= 120, "{seed}");
    }
    let layer = lode::io::vector::LayerRef::open("t", &corpus("deposits-5.geojson"), None, None).unwrap();
    assert_eq!(layer.read(&grid(), None).unwrap().len(), 5);
}
