//! `kind = "categorical"`: an integer-class raster (lithology codes, a binary map),
//! warped with nearest neighbour and one-hot encoded: one 0/1 column per class.
//!
//! Without `classes` in the config, the classes are those found inside the study area by
//! a scan of every window before the fit. The single run keeps what that scan read, as
//! runs of equal cells along the rows (up to `RUNS_KEPT` per layer), so the prediction
//! and the targets take each window from there instead of warping the band again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::ParallelProgressIterator;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::scan::{finish_or_stop, KindScan, Pass, Prepared};
use crate::features::classes::{self as class_keys, ClassName};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, HotBlock, LayerBlock, OneHot, ScannedCoverage, NO_COLUMN};
use crate::grid::{Grid, Window};
use crate::io::raster::GridBand;
use crate::io::Resampling;

/// The keys of a `categorical` table.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Classes to encode, integers or names; default every class found in the study area.
    pub classes: Option<Vec<ClassName>>,
    /// A name per integer class, e.g. `{ "17306" = "Quartzite" }`.
    pub class_names: Option<BTreeMap<String, String>>,
    /// Largest number of classes accepted before the layer is declared not categorical. Default 256.
    #[serde(default = "class_keys::default_max_classes")]
    pub max_classes: usize,
}

/// The validated keys of a `categorical` layer.
#[derive(Debug, Clone)]
pub struct Params {
    /// The classes to encode by their codes; `None`: every class found.
    pub classes: Option<Vec<i64>>,
    /// `class_names` by integer class; empty when not given.
    pub class_names: BTreeMap<i64, String>,
    /// The class-count limit.
    pub max_classes: usize,
}

impl Kind for Raw {
    type Params = Params;
    const INPUT: Input = Input::Raster;
    const CLASSES: bool = true;

    fn check(&self, cx: &Check<'_>) -> Result<Params> {
        class_keys::check_class_keys(cx, self.classes.as_deref(), self.max_classes)?;
        let class_names = match &self.class_names {
            Some(t) => class_keys::parse_class_names(t).map_err(|m| Error::key(cx.key("class_names"), m))?,
            None => BTreeMap::new(),
        };
        let classes = match &self.classes {
            Some(c) => Some(
                class_keys::categorical_codes(c, self.class_names.as_ref()).map_err(|m| Error::key(cx.key("classes"), m))?,
            ),
            None => None,
        };
        Ok(Params { classes, class_names, max_classes: self.max_classes })
    }

    fn prepare(p: &Params, settings: &EvidenceSettings, grid: &Grid, pass: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Categorical::prepare_with(p, settings, grid, pass)?.boxed())
    }
}

/// A class raster on the grid with its classes.
#[derive(Debug)]
pub struct Categorical {
    name: String,
    band: GridBand,
    classes: Vec<i64>,
    /// The name of each class (`class_names`, else the code).
    names: Vec<String>,
    onehot: OneHot,
    /// Study-area cells with data, when the class scan counted them.
    covered: Option<u64>,
    /// The cells as the class scan read them, when it kept them ([`ClassRuns`]).
    runs: Option<ClassRuns>,
}

impl Categorical {
    /// Puts the band on the grid and takes its classes from the config or, by default,
    /// from one streaming pass over the study area (as `pass` gives it).
    pub fn prepare_with(
        params: &Params,
        settings: &EvidenceSettings,
        grid: &Grid,
        pass: Pass,
    ) -> Result<Prepared<Categorical>> {
        let EvidenceInput::Raster(band) = &settings.input else {
            return Err(Error::key(&settings.name, "a `categorical` layer needs a raster file"));
        };
        let resampling = match settings.resampling {
            Resampling::Auto => Resampling::Nearest,
            r @ (Resampling::Nearest | Resampling::Mode) => r,
            other => {
                return Err(Error::key(
                    format!("evidence `{}`.resampling", settings.name),
                    format!("`{other:?}` would invent classes; use `nearest` or `mode`").to_lowercase(),
                ))
            }
        };
        let gb = GridBand::new(band, grid, resampling, true)?;
        let mut runs = None;
        let (classes, covered) = match &params.classes {
            Some(c) => {
                let set: BTreeSet<i64> = c.iter().copied().collect();
                (set.into_iter().collect(), None)
            }
            None => {
                // Only the single run's scan (of every window, in this process) keeps its runs.
                let keep = matches!(pass, Pass::All).then_some(RUNS_KEPT);
                let mut kept = None;
                let scan = finish_or_stop!(pass.kind(grid, |w| {
                    let (scan, runs) = scan_classes(&gb, grid, w, &settings.name, params.max_classes, keep)?;
                    kept = runs;
                    Ok(scan)
                })?);
                let KindScan::Classes { set, covered } = scan else {
                    return Err(Error::key(&settings.name, "the prepared state holds no class scan of this layer"));
                };
                let classes = finish_classes(&gb, set, &settings.name, params.max_classes)?;
                runs = kept.map(|k| ClassRuns::of_scan(k, &classes));
                if let Some(r) = &runs {
                    tracing::debug!("evidence `{}`: {r:?} kept from the class scan", settings.name);
                }
                (classes, Some(covered))
            }
        };
        let table = &params.class_names;
        let names: Vec<String> =
            classes.iter().map(|c| table.get(c).cloned().unwrap_or_else(|| c.to_string())).collect();
        let onehot =
            OneHot { columns: names.iter().map(|c| crate::features::classes::column(&settings.name, c)).collect() };
        Ok(Prepared::Layer(Categorical {
            name: settings.name.clone(),
            band: gb,
            classes,
            names,
            onehot,
            covered,
            runs,
        }))
    }

    /// Per cell of `w`: `None` without data, else the column of its class (`None`: not encoded).
    fn classes_at(&self, grid: &Grid, w: &Window) -> Result<Vec<Option<Option<usize>>>> {
        let HotBlock { hot, valid } = self.hot_columns(grid, w)?;
        Ok(hot.iter().zip(&valid).map(|(&h, &ok)| ok.then(|| (h != NO_COLUMN).then_some(h as usize))).collect())
    }

    /// Per cell of `w`: the column of its class ([`NO_COLUMN`] for a class not encoded
    /// and without data) and whether it has data. From the class scan's runs when it kept
    /// them, else from the band, read again.
    fn hot_columns(&self, grid: &Grid, w: &Window) -> Result<HotBlock> {
        let mut hot = crate::scratch::take(w.len());
        if let Some(runs) = self.runs.as_ref().and_then(|r| r.of(w)) {
            let mut valid = crate::scratch::take(w.len());
            for r in runs {
                hot.resize(hot.len() + r.len as usize, r.hot);
                valid.resize(valid.len() + r.len as usize, r.valid);
            }
            return Ok(HotBlock { hot, valid });
        }
        let block = self.band.read(grid, w)?;
        // Classes come in runs along a row: a code is looked up when it differs from the last.
        let mut last: Option<(i64, u32)> = None;
        hot.extend(block.values.iter().zip(&block.valid).map(|(&v, &ok)| {
            if !ok {
                return NO_COLUMN;
            }
            let code = v as i64;
            match last {
                Some((c, h)) if c == code => h,
                _ => {
                    let h = self.column_of(code);
                    last = Some((code, h));
                    h
                }
            }
        }));
        crate::scratch::give(block.values);
        Ok(HotBlock { hot, valid: block.valid })
    }

    /// The column of class `code`, [`NO_COLUMN`] when it is not encoded.
    fn column_of(&self, code: i64) -> u32 {
        column_in(&self.classes, code)
    }

    /// The encoded classes, ascending.
    pub fn classes(&self) -> &[i64] {
        &self.classes
    }
}

/// The message of a class scan that found more than `max_classes` values.
fn too_many(band: &GridBand, name: &str, max_classes: usize, n: String) -> Error {
    Error::input(
        &band.source,
        format!(
            "evidence `{name}` has {n} distinct values, more than max_classes = {max_classes}; \
             is it continuous (kind = \"raster\")? Otherwise raise max_classes"
        ),
    )
}

/// The partial of the class scan over `windows`: the distinct integer values of the band
/// inside the study area and the cells with data there, window by window (in parallel).
/// With `keep`, also the runs of every window's cells ([`ScanRuns`]) if they are no more
/// than that many (else none).
fn scan_classes(
    band: &GridBand,
    grid: &Grid,
    windows: &[Window],
    name: &str,
    max_classes: usize,
    keep: Option<usize>,
) -> Result<(KindScan, Option<ScanRuns>)> {
    // Sets are merged as windows finish and the scan stops once one holds more than
    // grid::MAX_CLASSES (the most max_classes can be), so memory stays bounded by that,
    // not by the grid's cells, and the count up to it is exact.
    let cap = crate::grid::MAX_CLASSES;
    let over = || too_many(band, name, max_classes, format!("more than {cap}"));
    let runs_kept = AtomicUsize::new(0);
    let (set, covered, runs) = windows
        .par_iter()
        .progress_with(crate::progress::bar(windows.len() as u64, "classes"))
        .map(|w| {
            crate::features::scan::count_window();
            let block = band.read(grid, w)?;
            let study = grid.mask(w)?;
            let mut set = BTreeSet::new();
            let mut covered = 0u64;
            // Classes come in runs along a row: a value is checked and inserted when it
            // differs from the last one seen (NaN never equals it, so it is always checked).
            let mut last = None;
            for ((&v, &ok), &inside) in block.values.iter().zip(&block.valid).zip(&study) {
                if ok && inside {
                    covered += 1;
                    if last == Some(v) {
                        continue;
                    }
                    if v.fract() != 0.0 {
                        return Err(Error::input(
                            &band.source,
                            format!("evidence `{name}` is categorical but holds the non-integer value {v}; use kind = \"raster\""),
                        ));
                    }
                    set.insert(v as i64);
                    last = Some(v);
                }
            }
            if set.len() > cap {
                return Err(over());
            }
            let runs = keep
                .filter(|&most| runs_kept.load(Ordering::Relaxed) <= most)
                .map(|most| (runs_of(&block.values, &block.valid), most))
                .filter(|(r, most)| runs_kept.fetch_add(r.len(), Ordering::Relaxed) + r.len() <= *most)
                .map(|(r, _)| r);
            crate::scratch::give(block.values);
            crate::scratch::give(block.valid);
            Ok((set, covered, runs.map(|r| vec![(*w, r)])))
        })
        .try_reduce(
            || (BTreeSet::new(), 0, keep.map(|_| Vec::new())),
            |(mut a, n, ra), (b, m, rb)| {
                a.extend(b);
                if a.len() > cap {
                    return Err(over());
                }
                let runs = match (ra, rb) {
                    (Some(mut x), Some(y)) => {
                        x.extend(y);
                        Some(x)
                    }
                    _ => None,
                };
                Ok((a, n + m, runs))
            },
        )?;
    let runs = runs.map(|r| ScanRuns(r.into_iter().collect()));
    if let (Some(most), None) = (keep, &runs) {
        tracing::debug!("evidence `{name}`: the class scan's cells are more than {most} runs; predict reads the band again");
    }
    Ok((KindScan::Classes { set, covered }, runs))
}

/// The most runs of cells a class scan keeps per layer (16 bytes each while scanning, 12
/// once classified: at most 64 MiB, whatever the grid's size).
const RUNS_KEPT: usize = 1 << 22;

/// A run of equal cells in a window, row-major, as the class scan read them.
#[derive(Debug, Clone, Copy, PartialEq)]
struct ScanRun {
    /// The class code (`v as i64`, as the prediction takes it); 0 without data.
    code: i64,
    /// Whether the cells have data.
    valid: bool,
    /// How many cells.
    len: u32,
}

/// The runs of every window of a class scan.
struct ScanRuns(HashMap<Window, Vec<ScanRun>>);

/// The runs of equal (data, integer code) cells in a window's values, row-major.
fn runs_of(values: &[f64], valid: &[bool]) -> Vec<ScanRun> {
    let mut runs: Vec<ScanRun> = Vec::new();
    for (&v, &valid) in values.iter().zip(valid) {
        let code = if valid { v as i64 } else { 0 };
        match runs.last_mut() {
            Some(r) if r.code == code && r.valid == valid && r.len < u32::MAX => r.len += 1,
            _ => runs.push(ScanRun { code, valid, len: 1 }),
        }
    }
    runs
}

/// The column of class `code` among `classes` (ascending), [`NO_COLUMN`] when it is not one.
fn column_in(classes: &[i64], code: i64) -> u32 {
    classes.binary_search(&code).map_or(NO_COLUMN, |k| k as u32)
}

/// One run of a window's cells: the column of their class and whether they have data.
#[derive(Debug, Clone, Copy)]
struct Run {
    hot: u32,
    valid: bool,
    len: u32,
}

/// The cells of every window as the single run's class scan read them, as runs of equal
/// columns: the prediction and the targets read a window from here, without warping the
/// band a second time (the same values: the same warp of the same window, test below).
struct ClassRuns(HashMap<Window, Vec<Run>>);

impl ClassRuns {
    /// The scan's runs with their columns among `classes`.
    fn of_scan(scan: ScanRuns, classes: &[i64]) -> ClassRuns {
        let run = |r: ScanRun| Run {
            hot: if r.valid { column_in(classes, r.code) } else { NO_COLUMN },
            valid: r.valid,
            len: r.len,
        };
        ClassRuns(scan.0.into_iter().map(|(w, runs)| (w, runs.into_iter().map(run).collect())).collect())
    }

    /// The runs of window `w`, if the scan read that window.
    fn of(&self, w: &Window) -> Option<&[Run]> {
        self.0.get(w).map(Vec::as_slice)
    }
}

impl std::fmt::Debug for ClassRuns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let runs: usize = self.0.values().map(Vec::len).sum();
        write!(f, "ClassRuns({} windows, {runs} runs)", self.0.len())
    }
}

/// The classes, ascending, from the merged scan of every window; refuses none and more
/// than `max_classes`.
fn finish_classes(band: &GridBand, all: BTreeSet<i64>, name: &str, max_classes: usize) -> Result<Vec<i64>> {
    if all.is_empty() {
        return Err(Error::input(&band.source, format!("evidence `{name}` has no data inside the study area")));
    }
    if all.len() > max_classes {
        return Err(too_many(band, name, max_classes, all.len().to_string()));
    }
    Ok(all.into_iter().collect())
}

impl Evidence for Categorical {
    fn name(&self) -> &str {
        &self.name
    }

    fn columns(&self) -> Vec<String> {
        self.onehot.columns.clone()
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        Ok(self.onehot.encode(&self.classes_at(grid, w)?))
    }

    fn compute_hot(&self, grid: &Grid, w: &Window) -> Result<Option<HotBlock>> {
        // `OneHot::hot` of `classes_at`, without its vector of classes per cell.
        Ok(Some(self.hot_columns(grid, w)?))
    }

    fn class_codes(&self) -> Option<Vec<i64>> {
        Some(self.classes.clone())
    }

    fn scanned_coverage(&self) -> Option<ScannedCoverage> {
        // The classes are the scan's values, so the first column (the first class) is 1
        // on some covered cell, and 0 on some exactly when there is another class.
        self.covered.map(|covered| ScannedCoverage {
            covered,
            min: if self.classes.len() > 1 { 0.0 } else { 1.0 },
            max: 1.0,
        })
    }

    fn class_names(&self) -> Option<Vec<String>> {
        Some(self.names.clone())
    }

    fn describe(&self) -> String {
        let how = match self.band.resampling {
            None => "on the grid".to_string(),
            Some(r) => format!("warped, {r}"),
        };
        format!("categorical {} ({how}), {} classes", self.band.source.display(), self.classes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{EvidenceKind, KindParams};
    use crate::grid::{Mask, StudyArea};
    use crate::io::raster::BandRef;

    /// A study area of the grid's columns from `0` on.
    #[derive(Debug)]
    struct East(usize);

    impl StudyArea for East {
        fn flags(&self, _grid: &Grid, w: &Window) -> Result<Vec<bool>> {
            Ok((0..w.len()).map(|i| w.col + i % w.cols >= self.0).collect())
        }
        fn source(&self) -> &std::path::Path {
            std::path::Path::new("east")
        }
    }

    /// Cloncurry's geology on 37 m cells shifted by half a cell (every read is warped), in
    /// windows of 300 (clipped at the grid's edges), reaching 5 km west of the raster
    /// (cells without data), with a study area over the east of the grid only (so classes
    /// outside it are no columns).
    fn geology_on_37m_cells() -> (EvidenceSettings, Params, Grid) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/cloncurry/StratNo.tif");
        let band = BandRef::open("stratno", &path, 1).unwrap();
        let own = band.grid(300);
        let [x0, _, _, y1, _, _] = own.geo_transform;
        let grid = Grid {
            geo_transform: [x0 - 5000.0 + 18.5, 37.0, 0.0, y1 - 100_000.0, 0.0, -37.0],
            cols: 1216,
            rows: 1081,
            mask: Mask::Polygons(std::sync::Arc::new(East(600))),
            ..own
        };
        let params = Params { classes: None, class_names: BTreeMap::new(), max_classes: 256 };
        let settings = EvidenceSettings {
            name: "stratno".to_string(),
            kind: EvidenceKind::Categorical,
            input: EvidenceInput::Raster(band),
            resampling: Resampling::Auto,
            attribute: None,
            wofe: Default::default(),
            fuzzy: None,
            params: KindParams::Categorical(params.clone()),
            transform: None,
        };
        (settings, params, grid)
    }

    fn prepared(params: &Params, settings: &EvidenceSettings, grid: &Grid) -> Categorical {
        match Categorical::prepare_with(params, settings, grid, Pass::All).unwrap() {
            Prepared::Layer(c) => c,
            Prepared::Partial(_) => panic!("Pass::All finishes"),
        }
    }

    #[test]
    fn the_class_scans_kept_runs_give_every_window_as_the_band_read_again_gives_it() {
        let (settings, params, grid) = geology_on_37m_cells();
        let (params, grid) = (&params, &grid);
        let kept = prepared(params, &settings, grid);
        let runs = kept.runs.as_ref().expect("the scan kept no runs");
        // The same classes given in the config: no scan, every window read from the band.
        let given = Params { classes: Some(kept.classes.clone()), ..params.clone() };
        let read = prepared(&given, &settings, grid);
        assert!(read.runs.is_none());
        assert_eq!(read.classes, kept.classes);
        let (mut cells, mut without_data, mut not_encoded, mut encoded) = (0, 0, 0, 0);
        let windows = grid.windows();
        assert!(windows.len() > 4 && windows.iter().any(|w| w.cols < 300) && windows.iter().any(|w| w.rows < 300));
        for w in &windows {
            assert!(runs.of(w).is_some(), "no runs of {w:?}");
            let (a, b) = (kept.hot_columns(grid, w).unwrap(), read.hot_columns(grid, w).unwrap());
            assert_eq!(a.valid, b.valid, "validity differs in {w:?}");
            assert_eq!(a.hot, b.hot, "columns differ in {w:?}");
            assert_eq!(kept.classes_at(grid, w).unwrap(), read.classes_at(grid, w).unwrap(), "{w:?}");
            cells += w.len();
            for (&h, &ok) in a.hot.iter().zip(&a.valid) {
                match (ok, h) {
                    (false, _) => without_data += 1,
                    (true, NO_COLUMN) => not_encoded += 1,
                    (true, _) => encoded += 1,
                }
            }
        }
        assert_eq!(cells, grid.rows * grid.cols);
        assert!(without_data > 0 && not_encoded > 0 && encoded > 0, "{without_data} {not_encoded} {encoded}");
    }

    #[test]
    fn a_class_scan_over_its_run_budget_keeps_none_and_finds_the_same_classes() {
        let (settings, params, grid) = geology_on_37m_cells();
        let grid = &grid;
        let gb = prepared(&params, &settings, grid).band;
        let windows = grid.windows();
        let scan = |keep| scan_classes(&gb, grid, &windows, "stratno", params.max_classes, keep).unwrap();
        let (all, runs) = scan(Some(RUNS_KEPT));
        let needed: usize = runs.expect("no runs kept").0.values().map(Vec::len).sum();
        assert!(needed > windows.len());
        let (tight, runs) = scan(Some(needed));
        assert!(runs.is_some_and(|r| r.0.len() == windows.len()), "exactly the budget");
        assert_eq!(tight, all);
        let (over, runs) = scan(Some(needed - 1));
        assert!(runs.is_none(), "one run over the budget");
        assert_eq!(over, all);
        let (none, runs) = scan(None);
        assert!(runs.is_none());
        assert_eq!(none, all);
    }
}
