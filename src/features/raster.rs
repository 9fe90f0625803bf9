//! `kind = "raster"`: a continuous raster band (geophysics, geochemistry grid, DEM,
//! a distance map made elsewhere), warped onto the grid and used as it is.

use ndarray::Array2;

use crate::error::{Error, Result};
use crate::features::scan::{Pass, Prepared};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::raster::GridBand;

/// `raster` owns no keys: its `band` and `resampling` are those of every raster kind.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {}

impl Kind for Raw {
    type Params = ();
    const INPUT: Input = Input::Raster;

    fn check(&self, _: &Check<'_>) -> Result<()> {
        Ok(())
    }

    fn prepare(_: &(), settings: &EvidenceSettings, grid: &Grid, _: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Prepared::Layer(Box::new(Continuous::prepare(settings, grid)?)))
    }
}

/// A continuous band on the grid.
#[derive(Debug)]
pub struct Continuous {
    name: String,
    band: GridBand,
}

impl Continuous {
    /// Puts the band on the grid (warping with the layer's resampling when needed).
    pub fn prepare(settings: &EvidenceSettings, grid: &Grid) -> Result<Continuous> {
        let EvidenceInput::Raster(band) = &settings.input else {
            return Err(Error::key(&settings.name, "a `raster` layer needs a raster file"));
        };
        Ok(Continuous { name: settings.name.clone(), band: GridBand::new(band, grid, settings.resampling, false)? })
    }
}

impl Evidence for Continuous {
    fn name(&self) -> &str {
        &self.name
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let block = self.band.read(grid, w)?;
        let values = Array2::from_shape_vec((w.len(), 1), block.values).expect("one value per cell");
        Ok(LayerBlock { values, valid: block.valid })
    }

    fn describe(&self) -> String {
        match self.band.resampling {
            None => format!("raster {} (on the grid)", self.band.source.display()),
            Some(r) => format!("raster {} (warped, {r})", self.band.source.display()),
        }
    }
}
