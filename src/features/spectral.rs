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

pub mod expr;
pub mod indices;
pub mod sensor;

use std::collections::BTreeMap;
use std::path::PathBuf;

use ndarray::Array2;

use crate::config::{EvidenceKind, EvidenceSettings, RawEvidence};
use crate::error::{Error, Result};
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
}

impl Params {
    /// Checks the keys of `evidence[i]`; `None` for other kinds (which must not set them).
    pub fn from_raw(i: usize, ev: &RawEvidence) -> Result<Option<Params>> {
        let key = |k: &str| format!("evidence[{i}].{k}");
        let keys = [
            ("expression", ev.expression.is_some()),
            ("index", ev.index.is_some()),
            ("sensor", ev.sensor.is_some()),
            ("quantification", ev.quantification.is_some()),
            ("offset", ev.offset.is_some()),
            ("gain", ev.gain.is_some()),
            ("sun_elevation", ev.sun_elevation.is_some()),
            ("acquisition_date", ev.acquisition_date.is_some()),
        ];
        if ev.kind != EvidenceKind::Spectral {
            if let Some((k, _)) = keys.iter().find(|(_, set)| *set) {
                return Err(Error::key(key(k), format!("only applies to `spectral`, not `{}`", ev.kind.as_str())));
            }
            return Ok(None);
        }
        let sensor = match ev.sensor {
            Some(s) => s,
            None => Sensor::detect(&ev.path).map_err(|m| Error::key(key("path"), m))?,
        };
        if sensor == Sensor::Landsat8 && !ev.path.is_file() {
            return Err(Error::key(key("path"), format!("sensor `landsat8` needs the scene's *_MTL.txt file, not the folder {}", ev.path.display())));
        }
        if sensor != Sensor::Landsat8 && !ev.path.is_dir() {
            return Err(Error::key(key("path"), format!("sensor `{}` needs the folder of the band files, not the file {}", sensor.as_str(), ev.path.display())));
        }
        let only = |k: &str, set: bool, for_sensor: Sensor| -> Result<()> {
            if set && sensor != for_sensor {
                return Err(Error::key(key(k), format!("only applies to sensor `{}`, not `{}`", for_sensor.as_str(), sensor.as_str())));
            }
            Ok(())
        };
        only("quantification", ev.quantification.is_some(), Sensor::Sentinel2)?;
        only("offset", ev.offset.is_some(), Sensor::Sentinel2)?;
        only("gain", ev.gain.is_some(), Sensor::Aster)?;
        only("sun_elevation", ev.sun_elevation.is_some(), Sensor::Aster)?;
        only("acquisition_date", ev.acquisition_date.is_some(), Sensor::Aster)?;
        let mut radiometry = sensor::Radiometry { quantification: ev.quantification, offset: ev.offset, ..Default::default() };
        if let Some(q) = ev.quantification {
            if !(q > 0.0 && q.is_finite()) {
                return Err(Error::key(key("quantification"), format!("{q} must be a number > 0")));
            }
        }
        if let Some(o) = ev.offset {
            if !o.is_finite() {
                return Err(Error::key(key("offset"), format!("{o} must be a finite number")));
            }
        }
        for (band, &g) in ev.gain.iter().flatten() {
            let Some(b) = sensor::band_of(sensor, band) else {
                return Err(Error::key(key("gain"), format!("unknown band `{band}`; ASTER has {}", sensor.bands().join(", "))));
            };
            if sensor::ASTER_UCC[b][g as usize].is_none() {
                return Err(Error::key(key("gain"), format!("band {} has no gain `{g:?}` (low2 is for SWIR bands B4..B9)", sensor.bands()[b])));
            }
            radiometry.gain.insert(b, g);
        }
        if let Some(e) = ev.sun_elevation {
            if !(e > 0.0 && e <= 90.0) {
                return Err(Error::key(key("sun_elevation"), format!("{e} must be in (0, 90] degrees")));
            }
            if ev.acquisition_date.is_none() {
                return Err(Error::key(key("acquisition_date"), "`sun_elevation` needs `acquisition_date` (YYYY-MM-DD, for the Earth–Sun distance)"));
            }
        }
        if let Some(d) = &ev.acquisition_date {
            if ev.sun_elevation.is_none() {
                return Err(Error::key(key("sun_elevation"), "`acquisition_date` needs `sun_elevation` (degrees)"));
            }
            radiometry.day_of_year = Some(sensor::day_of_year(d).map_err(|m| Error::key(key("acquisition_date"), m))?);
        }
        radiometry.sun_elevation = ev.sun_elevation;
        let bands = sensor.bands();
        let product = match (&ev.expression, &ev.index) {
            (Some(e), None) => {
                Expr::parse(e, bands).map_err(|m| Error::key(key("expression"), m))?;
                Product::Expression { expression: e.clone(), index: None }
            }
            (None, Some(name)) => match indices::find(sensor, name) {
                Some(ix) => Product::Expression { expression: ix.expression.to_string(), index: Some(name.clone()) },
                None => {
                    let names: Vec<&str> = indices::for_sensor(sensor).iter().map(|x| x.name).collect();
                    return Err(Error::key(
                        key("index"),
                        format!("unknown index `{name}` for sensor `{}`; known: {}", sensor.as_str(), names.join(", ")),
                    ));
                }
            },
            _ => return Err(Error::key(key("expression"), "`spectral` needs one of `expression` or `index`")),
        };
        Ok(Some(Params { sensor, product, radiometry }))
    }
}

/// A spectral index of a scene, on the grid.
#[derive(Debug)]
pub struct Spectral {
    name: String,
    scene: sensor::Scene,
    expr: Expr,
    /// Per band read: (band position, band on the grid, scale, add).
    bands: Vec<(usize, GridBand, f64, f64)>,
    /// Band position -> index into `bands`.
    slot: BTreeMap<usize, usize>,
    params: Params,
}

impl Spectral {
    /// Reads the scene's metadata, finds and warps the bands the layer uses.
    pub fn prepare(settings: &EvidenceSettings, grid: &Grid) -> Result<Spectral> {
        let params = Params::from_raw(0, &settings.raw)?
            .ok_or_else(|| Error::key(&settings.name, "not a `spectral` layer"))?;
        let path: PathBuf = settings.raw.path.clone();
        let scene = sensor::Scene::open(params.sensor, &path, &params.radiometry).map_err(|m| Error::input(&path, m))?;
        let Product::Expression { expression, .. } = &params.product;
        let available = scene.available();
        let expr = Expr::parse(expression, params.sensor.bands()).map_err(|m| Error::input(&path, m))?;
        let mut used = Vec::new();
        expr.bands(&mut used);
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
            bands.push((b, GridBand::with_fill(&bref, grid, settings.resampling, 0.0)?, scale, add));
        }
        Ok(Spectral { name: settings.name.clone(), scene, expr, bands, slot, params })
    }
}

impl Evidence for Spectral {
    fn name(&self) -> &str {
        &self.name
    }

    fn columns(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let blocks: Vec<_> = self.bands.iter().map(|(_, gb, _, _)| gb.read(grid, w)).collect::<Result<_>>()?;
        let mut values = Array2::<f64>::zeros((w.len(), 1));
        let mut valid = vec![false; w.len()];
        for (i, ok) in valid.iter_mut().enumerate() {
            if !blocks.iter().all(|b| b.valid[i]) {
                continue;
            }
            let value = |band: usize| {
                let k = self.slot.get(&band).copied().unwrap_or(0);
                let (_, _, scale, add) = self.bands[k];
                scale * blocks[k].values[i] + add
            };
            if let Some(v) = self.expr.eval(&value) {
                values[[i, 0]] = v;
                *ok = true;
            }
        }
        Ok(LayerBlock { values, valid })
    }

    fn describe(&self) -> String {
        let Product::Expression { expression, index } = &self.params.product;
        format!(
            "spectral {} = {} on {} of {} scene {} ({})",
            index.as_deref().unwrap_or("expression"),
            expression,
            self.scene.quantity,
            self.params.sensor.as_str(),
            self.scene.source.display(),
            self.scene.provenance
        )
    }
}
