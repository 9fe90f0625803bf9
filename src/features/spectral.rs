//! `kind = "spectral"`: a band-math expression or a named index over a satellite scene,
//! computed on calibrated values (reflectance, or radiance for ASTER without sun angle).
//!
//! Sensors (`sensor`, or detected from `path`; see [`sensor`]):
//! - **Landsat 8/9 OLI**: `path` is the scene's `*_MTL.txt`. Band `n`'s file is the MTL's
//!   `FILE_NAME_BAND_n` in the MTL's folder or, when renamed, the one file there whose
//!   name ends in `_B<n>.tif` (any case). TOA reflectance (USGS Landsat 8 Data Users
//!   Handbook, section 5.2): `ρ = (REFLECTANCE_MULT_BAND_n · DN + REFLECTANCE_ADD_BAND_n) / sin(SUN_ELEVATION)`.
//! - **Sentinel-2 MSI**: `path` is a folder of `*_B01`..`*_B12`, `*_B8A` files (`.tif`,
//!   `.jp2`; an L2A `IMG_DATA` folder's `R10m`/`R20m`/`R60m` too). Reflectance
//!   `(DN + offset) / quantification`, from the keys, else `MTD_MSIL1C.xml` /
//!   `MTD_MSIL2A.xml` found in the folder or up to four folders above, else `10000` and 0.
//! - **ASTER L1T** VNIR/SWIR: `path` is a folder of `*_B01`.., `*_B3N` or `*ImageData3N`
//!   files. Radiance `(DN − 1) · UCC`; with `sun_elevation` and `acquisition_date`, TOA
//!   reflectance `π L d² / (ESUN · sin(elevation))`.
//!
//! DN 0 is fill (no data) for all three, masked before any warping. Each band is warped
//! onto the grid on its own (resampling as for rasters; the scaling is linear, so it
//! commutes with bilinear and average resampling): bands at 10, 20 and 60 m stack on one
//! grid. A cell where a division has a zero divisor, or a band has no data, has no data.
//!
//! Instead of an expression, `pca` gives principal components of chosen bands and
//! `crosta` Crosta's directed component ([`pca`]): their statistics are gathered in
//! `prepare` in one streaming pass over the grid's windows, `compute` projects.

pub mod expr;
pub mod indices;
pub mod pca;
pub mod sensor;

use crate::features::scan::{finish_or_stop, KindScan, Pass, Prepared};
use std::collections::BTreeMap;
use std::path::PathBuf;

use ndarray::Array2;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::features::spec::{self, Check, EvidenceSettings, Input};
use crate::io::Resampling;
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::raster::{BandRef, GridBand};

pub use expr::Expr;
pub use indices::Index;
pub use sensor::{AsterGain, Sensor};

/// What the layer computes.
#[derive(Debug, Clone)]
pub enum Product {
    /// A band-math expression (the user's, or a named index's).
    Expression {
        /// The expression text.
        expression: String,
        /// The named index, if one was used.
        index: Option<String>,
    },
    /// Principal components of `bands` (positions), the first `components`.
    Pca {
        /// Band positions, in the config's order.
        bands: Vec<usize>,
        /// Components output.
        components: usize,
        /// Correlation instead of covariance.
        standardize: bool,
    },
    /// Crosta's directed principal component of `bands`.
    Crosta {
        /// Band positions, in the config's order.
        bands: Vec<usize>,
        /// Position (in `bands`) of the band where the target is bright.
        reflective: usize,
        /// Position (in `bands`) of the band where the target absorbs.
        absorbing: usize,
        /// Correlation instead of covariance.
        standardize: bool,
    },
}

/// The validated keys of a `spectral` layer.
#[derive(Debug, Clone)]
pub struct Params {
    /// The sensor (from `sensor` or detected).
    pub sensor: Sensor,
    /// What is computed.
    pub product: Product,
    /// The radiometric keys.
    pub radiometry: sensor::Radiometry,
    /// Resampling of the bands onto the grid.
    pub resampling: Resampling,
}

/// The keys of a `spectral` table.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {
    /// Band-math expression on TOA reflectance, e.g. `(B6 - B7) / (B6 + B7)`.
    pub expression: Option<String>,
    /// A named index instead of an expression.
    pub index: Option<String>,
    /// `landsat8`, `sentinel2` or `aster`. Default: detected from `path`.
    pub sensor: Option<Sensor>,
    /// Sentinel-2: reflectance = (DN + offset) / quantification. Default: the product
    /// metadata's, else 10000.
    pub quantification: Option<f64>,
    /// Sentinel-2: added to every DN (-1000 from baseline 04.00). Default: the product
    /// metadata's, else 0.
    pub offset: Option<f64>,
    /// ASTER: gain setting per band (`high`, `normal`, `low1`, `low2`). Default normal.
    pub gain: Option<BTreeMap<String, AsterGain>>,
    /// ASTER: sun elevation, degrees (TOA reflectance instead of radiance).
    pub sun_elevation: Option<f64>,
    /// ASTER: acquisition date `YYYY-MM-DD` (Earth-Sun distance).
    pub acquisition_date: Option<String>,
    /// Principal components of chosen bands instead of an expression.
    pub pca: Option<pca::RawPca>,
    /// Crosta's directed principal component instead of an expression.
    pub crosta: Option<pca::RawCrosta>,
    /// Resampling of the bands onto the grid. Default `auto`.
    #[serde(default)]
    pub resampling: Resampling,
}

impl spec::Kind for Raw {
    type Params = Params;
    const INPUT: Input = Input::Scene;

    fn check(&self, cx: &Check<'_>) -> Result<Params> {
        let sensor = match self.sensor {
            Some(s) => s,
            None => Sensor::detect(&cx.table.path).map_err(|m| Error::key(cx.key("path"), m))?,
        };
        if sensor == Sensor::Landsat8 && !cx.table.path.is_file() {
            return Err(Error::key(
                cx.key("path"),
                format!("sensor `landsat8` needs the scene's *_MTL.txt file, not the folder {}", cx.table.path.display()),
            ));
        }
        if sensor != Sensor::Landsat8 && !cx.table.path.is_dir() {
            return Err(Error::key(
                cx.key("path"),
                format!(
                    "sensor `{}` needs the folder of the band files, not the file {}",
                    sensor.as_str(),
                    cx.table.path.display()
                ),
            ));
        }
        let only = |k: &str, set: bool, for_sensor: Sensor| -> Result<()> {
            if set && sensor != for_sensor {
                return Err(Error::key(
                    cx.key(k),
                    format!("only applies to sensor `{}`, not `{}`", for_sensor.as_str(), sensor.as_str()),
                ));
            }
            Ok(())
        };
        only("quantification", self.quantification.is_some(), Sensor::Sentinel2)?;
        only("offset", self.offset.is_some(), Sensor::Sentinel2)?;
        only("gain", self.gain.is_some(), Sensor::Aster)?;
        only("sun_elevation", self.sun_elevation.is_some(), Sensor::Aster)?;
        only("acquisition_date", self.acquisition_date.is_some(), Sensor::Aster)?;
        let mut radiometry =
            sensor::Radiometry { quantification: self.quantification, offset: self.offset, ..Default::default() };
        if let Some(q) = self.quantification {
            if !(q > 0.0 && q.is_finite()) {
                return Err(Error::key(cx.key("quantification"), format!("{q} must be a number > 0")));
            }
        }
        if let Some(o) = self.offset {
            if !o.is_finite() {
                return Err(Error::key(cx.key("offset"), format!("{o} must be a finite number")));
            }
        }
        for (band, &g) in self.gain.iter().flatten() {
            let Some(b) = sensor::band_of(sensor, band) else {
                return Err(Error::key(
                    cx.key("gain"),
                    format!("unknown band `{band}`; ASTER has {}", sensor.bands().join(", ")),
                ));
            };
            if sensor::ASTER_UCC[b][g as usize].is_none() {
                return Err(Error::key(
                    cx.key("gain"),
                    format!("band {} has no gain `{g:?}` (low2 is for SWIR bands B4..B9)", sensor.bands()[b]),
                ));
            }
            radiometry.gain.insert(b, g);
        }
        if let Some(e) = self.sun_elevation {
            if !(e > 0.0 && e <= 90.0) {
                return Err(Error::key(cx.key("sun_elevation"), format!("{e} must be in (0, 90] degrees")));
            }
            if self.acquisition_date.is_none() {
                return Err(Error::key(
                    cx.key("acquisition_date"),
                    "`sun_elevation` needs `acquisition_date` (YYYY-MM-DD, for the Earth–Sun distance)",
                ));
            }
        }
        if let Some(d) = &self.acquisition_date {
            if self.sun_elevation.is_none() {
                return Err(Error::key(cx.key("sun_elevation"), "`acquisition_date` needs `sun_elevation` (degrees)"));
            }
            radiometry.day_of_year = Some(sensor::day_of_year(d).map_err(|m| Error::key(cx.key("acquisition_date"), m))?);
        }
        radiometry.sun_elevation = self.sun_elevation;
        let bands = sensor.bands();
        let given: Vec<&str> = [
            ("expression", self.expression.is_some()),
            ("index", self.index.is_some()),
            ("pca", self.pca.is_some()),
            ("crosta", self.crosta.is_some()),
        ]
        .iter()
        .filter(|x| x.1)
        .map(|x| x.0)
        .collect();
        if given.len() != 1 {
            let k = given.get(1).copied().unwrap_or("expression");
            return Err(Error::key(
                cx.key(k),
                format!(
                    "`spectral` needs exactly one of `expression`, `index`, `pca` or `crosta` (given: {})",
                    if given.is_empty() { "none".to_string() } else { given.join(", ") }
                ),
            ));
        }
        let band_list = |k: &str, names: &[String], least: usize| -> Result<Vec<usize>> {
            let mut out = Vec::new();
            for n in names {
                let b = sensor::band_of(sensor, n).ok_or_else(|| {
                    Error::key(
                        cx.key(k),
                        format!("unknown band `{n}`; sensor `{}` has {}", sensor.as_str(), bands.join(", ")),
                    )
                })?;
                if out.contains(&b) {
                    return Err(Error::key(cx.key(k), format!("band `{n}` is listed twice")));
                }
                out.push(b);
            }
            if out.len() < least {
                return Err(Error::key(cx.key(k), format!("needs at least {least} bands, has {}", out.len())));
            }
            Ok(out)
        };
        let product = if let Some(e) = &self.expression {
            Expr::parse(e, bands).map_err(|m| Error::key(cx.key("expression"), m))?;
            Product::Expression { expression: e.clone(), index: None }
        } else if let Some(name) = &self.index {
            match indices::find(sensor, name) {
                Some(ix) => Product::Expression { expression: ix.expression.to_string(), index: Some(name.clone()) },
                None => {
                    let names: Vec<&str> = indices::for_sensor(sensor).iter().map(|x| x.name).collect();
                    return Err(Error::key(
                        cx.key("index"),
                        format!("unknown index `{name}` for sensor `{}`; known: {}", sensor.as_str(), names.join(", ")),
                    ));
                }
            }
        } else if let Some(p) = &self.pca {
            let list = band_list("pca.bands", &p.bands, 2)?;
            let components = p.components.unwrap_or(list.len());
            if components == 0 || components > list.len() {
                return Err(Error::key(
                    cx.key("pca.components"),
                    format!("{components} must be 1..={} (the number of bands)", list.len()),
                ));
            }
            Product::Pca { bands: list, components, standardize: p.standardize.unwrap_or(false) }
        } else if let Some(c) = &self.crosta {
            let list = band_list("crosta.bands", &c.bands, 3)?;
            let find = |k: &str, n: &str| -> Result<usize> {
                sensor::band_of(sensor, n).and_then(|b| list.iter().position(|&x| x == b)).ok_or_else(|| {
                    Error::key(cx.key(k), format!("`{n}` is not one of `crosta.bands` ({})", c.bands.join(", ")))
                })
            };
            let (reflective, absorbing) =
                (find("crosta.reflective", &c.reflective)?, find("crosta.absorbing", &c.absorbing)?);
            if reflective == absorbing {
                return Err(Error::key(cx.key("crosta.absorbing"), "must differ from `crosta.reflective`"));
            }
            Product::Crosta { bands: list, reflective, absorbing, standardize: c.standardize.unwrap_or(false) }
        } else {
            unreachable!("exactly one product key was checked above")
        };
        Ok(Params { sensor, product, radiometry, resampling: self.resampling })
    }


    fn prepare(p: &Params, settings: &EvidenceSettings, grid: &Grid, pass: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Spectral::prepare_with(p, settings, grid, pass)?.boxed())
    }
}

/// What `compute` evaluates.
#[derive(Debug)]
enum Kind {
    /// A band-math expression.
    Expr(Expr),
    /// Fitted components over `bands` (in their order), with a note for `describe()`.
    Components(pca::Components, String),
}

/// A spectral index of a scene, on the grid.
#[derive(Debug)]
pub struct Spectral {
    name: String,
    scene: sensor::Scene,
    kind: Kind,
    /// Per band read: (band position, band on the grid, scale, add).
    bands: Vec<(usize, GridBand, f64, f64)>,
    /// Band position -> index into `bands`.
    slot: BTreeMap<usize, usize>,
    params: Params,
}

impl Spectral {
    /// Reads the scene's metadata, finds and warps the bands the layer uses, with the
    /// moments of PCA and Crosta as `pass` gives them.
    pub fn prepare_with(
        params: &Params,
        settings: &EvidenceSettings,
        grid: &Grid,
        pass: Pass,
    ) -> Result<Prepared<Spectral>> {
        let params = params.clone();
        let crate::features::spec::EvidenceInput::Scene(path) = &settings.input else {
            return Err(Error::key(&settings.name, "a `spectral` layer needs a scene's metadata file"));
        };
        let path: PathBuf = path.clone();
        let scene =
            sensor::Scene::open(params.sensor, &path, &params.radiometry).map_err(|m| Error::input(&path, m))?;
        let available = scene.available();
        let (expr, used) = match &params.product {
            Product::Expression { expression, .. } => {
                let expr = Expr::parse(expression, params.sensor.bands()).map_err(|m| Error::input(&path, m))?;
                let mut used = Vec::new();
                expr.bands(&mut used);
                (Some(expr), used)
            }
            Product::Pca { bands, .. } | Product::Crosta { bands, .. } => (None, bands.clone()),
        };
        let mut bands = Vec::new();
        let mut slot = BTreeMap::new();
        for b in used {
            let name = params.sensor.bands()[b];
            if !available.contains(&b) {
                return Err(Error::input(&path, format!("band {name} has no reflectance scaling in this scene")));
            }
            let file = scene.band_file(b).map_err(|m| Error::input(&path, m))?;
            let bref = BandRef::open(&format!("{}.path (band {name})", settings.name), &file, 1)?;
            let (scale, add) = scene.scaling[&b];
            slot.insert(b, bands.len());
            bands.push((b, GridBand::with_fill(&bref, grid, params.resampling, 0.0)?, scale, add));
        }
        let mut layer =
            Spectral { name: settings.name.clone(), scene, kind: Kind::Expr(Expr::Num(0.0)), bands, slot, params };
        layer.kind = match expr {
            Some(e) => Kind::Expr(e),
            None => {
                let wrap = |e: Error| match e {
                    Error::Input { .. } => e,
                    other => Error::input(&path, format!("layer `{}`: {other}", settings.name)),
                };
                let scan = finish_or_stop!(pass.kind(grid, |w| layer.scan_moments(grid, w)).map_err(wrap)?);
                let KindScan::Moments(per_window) = scan else {
                    return Err(Error::key(&settings.name, "the prepared state holds no band moments of this layer"));
                };
                layer.fit_components(&per_window).map_err(wrap)?
            }
        };
        Ok(Prepared::Layer(layer))
    }

    /// Calibrated values of every band read, for the cells of `w`: per band its values
    /// and validity.
    fn read_bands(&self, grid: &Grid, w: &Window) -> Result<Vec<(Vec<f64>, Vec<bool>)>> {
        self.bands
            .iter()
            .map(|(_, gb, scale, add)| {
                let b = gb.read(grid, w)?;
                Ok((b.values.iter().map(|v| scale * v + add).collect(), b.valid))
            })
            .collect()
    }

    /// The partial of the moments over `windows`: per window (in parallel, kept in window
    /// order, merged in that order at the finish so the result does not depend on
    /// scheduling or tiling), the moments of the bands over the study area's cells where
    /// every band has data.
    fn scan_moments(&self, grid: &Grid, windows: &[Window]) -> Result<KindScan> {
        let p = self.bands.len();
        let per_window: Vec<pca::Moments> = windows
            .par_iter()
            .map(|w| {
                crate::features::scan::count_window();
                let inside = grid.mask(w)?;
                let bands = self.read_bands(grid, w)?;
                let mut m = pca::Moments::new(p);
                let mut x = vec![0.0; p];
                for (i, &ok) in inside.iter().enumerate() {
                    if ok && bands.iter().all(|b| b.1[i]) {
                        for (xj, b) in x.iter_mut().zip(&bands) {
                            *xj = b.0[i];
                        }
                        m.add(&x);
                    }
                }
                Ok(m)
            })
            .collect::<Result<_>>()?;
        Ok(KindScan::Moments(per_window))
    }

    /// The components from the moments of every window, merged in window order.
    fn fit_components(&self, per_window: &[pca::Moments]) -> Result<Kind> {
        let p = self.bands.len();
        let mut moments = pca::Moments::new(p);
        for m in per_window {
            moments.merge(m);
        }
        let names: Vec<&str> = self.bands.iter().map(|b| self.params.sensor.bands()[b.0]).collect();
        let source = &self.scene.source;
        let fmt = |v: &[f64]| v.iter().map(|x| format!("{x:.4}")).collect::<Vec<_>>().join(", ");
        match &self.params.product {
            Product::Pca { components, standardize, .. } => {
                let c =
                    pca::Components::pca(&moments, *standardize, *components).map_err(|m| Error::input(source, m))?;
                let total: f64 = c.eigenvalues.iter().sum();
                let loadings: Vec<String> = c
                    .loadings
                    .iter()
                    .enumerate()
                    .map(|(k, l)| format!("PC{} {:.1}% [{}]", k + 1, 100.0 * c.eigenvalues[k] / total, fmt(l)))
                    .collect();
                let note = format!(
                    "PCA of {} ({}, {} cells): loadings on [{}]: {}",
                    names.join(", "),
                    if *standardize { "correlation" } else { "covariance" },
                    c.cells,
                    names.join(", "),
                    loadings.join("; ")
                );
                Ok(Kind::Components(c, note))
            }
            Product::Crosta { reflective, absorbing, standardize, .. } => {
                let (c, opposite) = pca::Components::crosta(&moments, *standardize, *reflective, *absorbing)
                    .map_err(|m| Error::input(source, m))?;
                let note = format!(
                    "Crosta directed PC{} of {} ({}, {} cells), loadings [{}] on [{}], signed so that high {} / low {} is bright{}",
                    c.numbers[0],
                    names.join(", "),
                    if *standardize { "correlation" } else { "covariance" },
                    c.cells,
                    fmt(&c.loadings[0]),
                    names.join(", "),
                    names[*reflective],
                    names[*absorbing],
                    if opposite { "" } else { "; WARNING: no component loads the two bands with opposite signs, the largest difference was taken" }
                );
                Ok(Kind::Components(c, note))
            }
            Product::Expression { .. } => Err(Error::key(&self.name, "not a component layer")),
        }
    }
}

impl Evidence for Spectral {
    fn name(&self) -> &str {
        &self.name
    }

    fn columns(&self) -> Vec<String> {
        match (&self.kind, &self.params.product) {
            (Kind::Components(c, _), Product::Pca { .. }) => {
                c.numbers.iter().map(|k| format!("{}_pc{k}", self.name)).collect()
            }
            _ => vec![self.name.clone()],
        }
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let bands = self.read_bands(grid, w)?;
        let ncol = self.columns().len();
        let mut values = Array2::<f64>::zeros((w.len(), ncol));
        let mut valid = vec![false; w.len()];
        let mut x = vec![0.0; bands.len()];
        for (i, ok) in valid.iter_mut().enumerate() {
            if !bands.iter().all(|b| b.1[i]) {
                continue;
            }
            match &self.kind {
                Kind::Expr(expr) => {
                    let value = |band: usize| self.slot.get(&band).map_or(f64::NAN, |&k| bands[k].0[i]);
                    if let Some(v) = expr.eval(&value) {
                        values[[i, 0]] = v;
                        *ok = true;
                    }
                }
                Kind::Components(c, _) => {
                    for (xj, b) in x.iter_mut().zip(&bands) {
                        *xj = b.0[i];
                    }
                    for k in 0..ncol {
                        values[[i, k]] = c.project(k, &x);
                    }
                    *ok = true;
                }
            }
        }
        Ok(LayerBlock { values, valid })
    }

    fn describe(&self) -> String {
        let what = match (&self.kind, &self.params.product) {
            (Kind::Components(_, note), _) => note.clone(),
            (_, Product::Expression { expression, index }) => {
                format!("{} = {}", index.as_deref().unwrap_or("expression"), expression)
            }
            _ => String::new(),
        };
        format!(
            "spectral {what} on {} of {} scene {} ({})",
            self.scene.quantity,
            self.params.sensor.as_str(),
            self.scene.source.display(),
            self.scene.provenance
        )
    }
}
