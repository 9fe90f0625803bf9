//! `kind = "signed_distance"`: distance in CRS units from each cell centre to the boundary
//! of the polygons of a layer, negative inside them and positive outside: how far into,
//! or out from, a granite. Lithium-caesium-tantalum pegmatites lie in a zoned aureole
//! around the fertile granite they came from, mostly outside it and within a few
//! kilometres of its contact, so the signed distance separates "just outside" from "deep
//! inside" where the unsigned `distance` cannot. Select the polygons with `where`
//! (`where = "LITH = 'granite'"`).
//!
//! The distance is exact to the polygons' boundaries (the `distance` kind's R-tree of
//! segments, holes included); a cell is inside when GDAL's rasterizer burns its centre, as
//! `gdal_rasterize` does for `polygon_value`. Where polygons overlap, a cell inside any is
//! inside. One column; every cell has data.

use crate::error::{Error, Result};
use crate::features::distance::{collect, Distance};
use crate::features::scan::{Pass, Prepared};
use crate::features::spec::{Check, EvidenceInput, EvidenceSettings, Input, Kind};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::vector::Burner;

/// `signed_distance` owns no keys: its polygons are the layer's (`layer`, `where`).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Raw {}

impl Kind for Raw {
    type Params = ();
    const INPUT: Input = Input::Vector;

    fn check(&self, _: &Check<'_>) -> Result<()> {
        Ok(())
    }

    fn prepare(_: &(), settings: &EvidenceSettings, grid: &Grid, _: Pass) -> Result<Prepared<Box<dyn Evidence>>> {
        Ok(Prepared::Layer(Box::new(SignedDistance::prepare(settings, grid)?)))
    }
}

/// Distance to the polygons' boundaries, negative inside them.
#[derive(Debug)]
pub struct SignedDistance {
    /// The unsigned distance to the boundaries.
    distance: Distance,
    /// Burns the polygons' interiors.
    inside: Burner,
}

impl SignedDistance {
    /// Reads the polygons (reprojected to the grid) and indexes their boundaries.
    pub fn prepare(settings: &EvidenceSettings, grid: &Grid) -> Result<SignedDistance> {
        let EvidenceInput::Vector(layer) = &settings.input else {
            return Err(Error::key(&settings.name, "a `signed_distance` layer needs a vector file"));
        };
        let layer_err =
            |message: String| Error::Layer { path: layer.path.clone(), layer: layer.layer.clone(), message };
        let mut segments = Vec::new();
        let mut shapes = Vec::new();
        for f in layer.read(grid, None)? {
            if !matches!(f.geometry, geo::Geometry::Polygon(_) | geo::Geometry::MultiPolygon(_)) {
                return Err(layer_err(format!(
                    "evidence `{}`: `signed_distance` needs polygons (inside and outside), found another geometry; \
                     use `distance` for points and lines",
                    settings.name
                )));
            }
            collect(&f.geometry, &mut segments, &mut Vec::new());
            shapes.push((f.geometry, 0));
        }
        if shapes.is_empty() {
            return Err(layer_err(format!("evidence `{}`: no polygon to measure from", settings.name)));
        }
        let source = format!("{} layer {}", layer.path.display(), layer.layer);
        Ok(SignedDistance {
            distance: Distance::from_segments(&settings.name, source, segments),
            inside: Burner::new(shapes, false),
        })
    }
}

impl Evidence for SignedDistance {
    fn name(&self) -> &str {
        self.distance.name()
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let mut block = self.distance.compute(grid, w)?;
        for (i, burnt) in self.inside.burn(grid, w)?.into_iter().enumerate() {
            if burnt.is_some() {
                block.values[[i, 0]] = -block.values[[i, 0]];
            }
        }
        Ok(block)
    }

    fn describe(&self) -> String {
        format!("{}, negative inside the polygons", self.distance.describe().replacen("distance", "signed distance", 1))
    }
}
