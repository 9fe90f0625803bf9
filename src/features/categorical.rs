//! `kind = "categorical"`: an integer-class raster (lithology codes, a binary map),
//! warped with nearest neighbour and one-hot encoded: one 0/1 column per class.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use indicatif::ParallelProgressIterator;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::scan::{finish_or_stop, KindScan, Pass, Prepared};
use crate::features::classes::{self as class_keys, ClassName};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, HotBlock, LayerBlock, OneHot, ScannedCoverage};
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
    position: HashMap<i64, usize>,
    /// The name of each class (`class_names`, else the code).
    names: Vec<String>,
    onehot: OneHot,
    /// Study-area cells with data, when the class scan counted them.
    covered: Option<u64>,
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
        let (classes, covered) = match &params.classes {
            Some(c) => {
                let set: BTreeSet<i64> = c.iter().copied().collect();
                (set.into_iter().collect(), None)
            }
            None => {
                let scan = finish_or_stop!(pass.kind(grid, |w| scan_classes(
                    &gb,
                    grid,
                    w,
                    &settings.name,
                    params.max_classes
                ))?);
                let KindScan::Classes { set, covered } = scan else {
                    return Err(Error::key(&settings.name, "the prepared state holds no class scan of this layer"));
                };
                (finish_classes(&gb, set, &settings.name, params.max_classes)?, Some(covered))
            }
        };
        let position = classes.iter().enumerate().map(|(i, &c)| (c, i)).collect();
        let table = &params.class_names;
        let names: Vec<String> =
            classes.iter().map(|c| table.get(c).cloned().unwrap_or_else(|| c.to_string())).collect();
        let onehot =
            OneHot { columns: names.iter().map(|c| crate::features::classes::column(&settings.name, c)).collect() };
        Ok(Prepared::Layer(Categorical {
            name: settings.name.clone(),
            band: gb,
            classes,
            position,
            names,
            onehot,
            covered,
        }))
    }

    /// Per cell of `w`: `None` without data, else the column of its class (`None`: not encoded).
    fn classes_at(&self, grid: &Grid, w: &Window) -> Result<Vec<Option<Option<usize>>>> {
        let block = self.band.read(grid, w)?;
        Ok(block
            .values
            .iter()
            .zip(&block.valid)
            .map(|(&v, &ok)| ok.then(|| self.position.get(&(v as i64)).copied()))
            .collect())
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
fn scan_classes(band: &GridBand, grid: &Grid, windows: &[Window], name: &str, max_classes: usize) -> Result<KindScan> {
    // Sets are merged as windows finish and the scan stops once one holds more than
    // grid::MAX_CLASSES (the most max_classes can be), so memory stays bounded by that,
    // not by the grid's cells, and the count up to it is exact.
    let cap = crate::grid::MAX_CLASSES;
    let over = || too_many(band, name, max_classes, format!("more than {cap}"));
    let (set, covered) = windows
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
            Ok((set, covered))
        })
        .try_reduce(
            || (BTreeSet::new(), 0),
            |(mut a, n), (b, m)| {
                a.extend(b);
                if a.len() > cap {
                    return Err(over());
                }
                Ok((a, n + m))
            },
        )?;
    Ok(KindScan::Classes { set, covered })
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
        let block = self.band.read(grid, w)?;
        let mut hot = crate::scratch::take(w.len());
        hot.extend(block.values.iter().zip(&block.valid).map(|(&v, &ok)| match ok {
            true => self.position.get(&(v as i64)).map_or(crate::features::NO_COLUMN, |&k| k as u32),
            false => crate::features::NO_COLUMN,
        }));
        crate::scratch::give(block.values);
        Ok(Some(HotBlock { hot, valid: block.valid }))
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
