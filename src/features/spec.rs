//! What an `[[evidence]]` table says, declared once for every kind: [`RawEvidence`] as
//! parsed (unknown keys rejected with their line), its `wofe` and `fuzzy` tables, and
//! [`validate_evidence`], which opens the input and checks every kind's keys before any
//! heavy work, into [`EvidenceSettings`]. `config` parses the file and calls it; the
//! features read only these types (never `config`), so the modules form no circle.
//! `config` re-exports every public item here under its old path (`config::RawEvidence`...).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io;
use crate::io::Resampling;

/// How a weights-of-evidence table orders and accumulates a layer's classes
/// (`wofe = { method = ... }`; `wofe::Method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Rows by increasing class; patterns accumulate from the lowest class
    /// (low values favourable, e.g. distance to a feature).
    Ascending,
    /// Rows by decreasing class; patterns accumulate from the highest class
    /// (high values favourable, e.g. a density).
    Descending,
    /// Rows by increasing class; every class is its own pattern (unordered
    /// values, e.g. lithology).
    Categorical,
}

/// The kinds of evidence layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceKind {
    /// A continuous raster band, used as is.
    Raster,
    /// An integer-class raster band, one-hot encoded.
    Categorical,
    /// Distance (CRS units) from each cell centre to the nearest vector feature.
    Distance,
    /// A polygon attribute burnt onto the grid as classes, one-hot encoded.
    Rasterize,
    /// A terrain derivative (slope, aspect, curvature, TRI, roughness) of a DEM.
    Terrain,
    /// A statistic of a raster over a moving window (mean, std, min, max, range).
    Focal,
    /// Length of lines per unit area within a radius.
    LineDensity,
    /// Kernel density of points.
    PointDensity,
    /// A surface interpolated from point samples (IDW).
    Interpolate,
    /// A band-math expression or named index of a Landsat 8/9, Sentinel-2 or ASTER scene.
    Spectral,
    /// Distance to the boundaries between polygons whose `attribute` differs (lithological contacts).
    Contacts,
    /// A numeric polygon attribute (unit age, susceptibility) burnt onto the grid as one continuous column.
    PolygonValue,
}

impl EvidenceKind {
    /// The name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            EvidenceKind::Raster => "raster",
            EvidenceKind::Categorical => "categorical",
            EvidenceKind::Distance => "distance",
            EvidenceKind::Rasterize => "rasterize",
            EvidenceKind::Terrain => "terrain",
            EvidenceKind::Focal => "focal",
            EvidenceKind::LineDensity => "line_density",
            EvidenceKind::PointDensity => "point_density",
            EvidenceKind::Interpolate => "interpolate",
            EvidenceKind::Spectral => "spectral",
            EvidenceKind::Contacts => "contacts",
            EvidenceKind::PolygonValue => "polygon_value",
        }
    }
}

/// One `[[evidence]]` table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvidence {
    /// Unique name; output columns and metadata use it.
    pub name: String,
    /// `raster`, `categorical`, `distance` or `rasterize`.
    pub kind: EvidenceKind,
    /// Input file (raster for `raster`/`categorical`, vector for `distance`/`rasterize`).
    pub path: PathBuf,
    /// Raster band, from 1. Default 1.
    #[serde(default = "default_band")]
    pub band: usize,
    /// Vector layer; default the first.
    pub layer: Option<String>,
    /// OGR SQL attribute filter on the vector layer.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// Attribute burnt by `rasterize` (integer or text classes).
    pub attribute: Option<String>,
    /// Point table (XLSX, ODS, CSV, ...): column of the x coordinate (with `y` and `crs`).
    pub x: Option<String>,
    /// Point table: column of the y coordinate.
    pub y: Option<String>,
    /// Vector kinds: CRS of the coordinates (a point table's, or one replacing a source's missing or wrong CRS).
    pub crs: Option<String>,
    /// Resampling onto the grid (rasters). Default `auto`.
    #[serde(default)]
    pub resampling: Resampling,
    /// Classes to encode (`categorical`, `rasterize`), integers or names; default every
    /// class found in the study area.
    pub classes: Option<Vec<crate::features::classes::ClassName>>,
    /// `categorical`: a name per integer class, e.g. `{ "17306" = "Quartzite" }`.
    pub class_names: Option<std::collections::BTreeMap<String, String>>,
    /// `rasterize`: study-area cells outside every polygon are the class `unmapped`
    /// (`class`, default) or have no data (`nodata`).
    pub unmapped: Option<crate::features::classes::Unmapped>,
    /// `contacts`: only contacts between these pairs of classes (`"*"`: any class).
    pub between: Option<Vec<[String; 2]>>,
    /// Largest number of classes accepted before the layer is declared not categorical. Default 256.
    #[serde(default = "default_max_classes")]
    pub max_classes: usize,
    /// How `model.kind = "wofe"` generalises this layer.
    pub wofe: Option<RawWofeLayer>,
    /// How `model.kind = "fuzzy"` turns this layer into a membership.
    pub fuzzy: Option<RawFuzzy>,
    /// `terrain`: the derivative (`slope`, `aspect`, `curvature`, `tri`, `roughness`).
    pub derivative: Option<crate::features::terrain::Derivative>,
    /// `terrain`: elevation units per horizontal CRS unit multiplier. Default 1.
    pub z_factor: Option<f64>,
    /// `focal`: the statistic (`mean`, `std`, `min`, `max`, `range`).
    pub statistic: Option<crate::features::focal::Statistic>,
    /// `focal`: window radius in CRS units (or give `radius_cells`).
    pub radius: Option<f64>,
    /// `focal`: window radius in cells (or give `radius`).
    pub radius_cells: Option<f64>,
    /// `focal`: `circle` or `square`. Default `circle`.
    pub shape: Option<crate::features::focal::Shape>,
    /// `focal`: smallest fraction of the window's cells that must have data. Default 0.5.
    pub min_valid: Option<f64>,
    /// `distance`: `exact` (to the geometry) or `raster` (to burned cells, as
    /// `gdal_proximity.py`). Default `exact`.
    pub method: Option<crate::features::distance::Method>,
    /// `distance` with `method = "raster"`: burn every cell a line touches. Default false.
    pub all_touched: Option<bool>,
    /// `distance`, `line_density`: keep only line segments of this strike (degrees from north).
    pub strike: Option<f64>,
    /// Largest difference from `strike` kept, degrees. Default 22.5.
    pub strike_tolerance: Option<f64>,
    /// `distance`: measure to the points where two features cross. Default false.
    pub intersections: Option<bool>,
    /// `point_density`: `quartic` or `uniform`. Default `quartic`.
    pub kernel: Option<crate::features::point_density::Kernel>,
    /// `interpolate`: IDW power. Default 2.
    pub power: Option<f64>,
    /// `interpolate`: search radius, CRS units. Default unlimited.
    pub search_radius: Option<f64>,
    /// `interpolate`: most samples used per cell. Default 12.
    pub max_points: Option<usize>,
    /// `interpolate`: fewest samples a cell needs. Default 1.
    pub min_points: Option<usize>,
    /// `interpolate`: `half`, `drop` or `value`. Default `half`.
    pub below_detection: Option<crate::features::interpolate::BelowDetection>,
    /// `interpolate` with `below_detection = "value"`: the replacement.
    pub below_detection_value: Option<f64>,
    /// `interpolate`: detection limit per column; a number below it is below detection.
    pub detection_limits: Option<std::collections::BTreeMap<String, f64>>,
    /// `interpolate` with `below_detection = "layer"`: the layer (sheet) of the same source
    /// holding the uncensored values.
    pub below_detection_layer: Option<String>,
    /// `interpolate` with `below_detection = "layer"`: the sample-id column of both layers.
    pub join: Option<String>,
    /// Any continuous layer: `log`, `log10`, `log1p`, `sqrt` or `rank` of the computed
    /// value (+ `offset`); `interpolate`: `log` and `clr` act on the samples. Default none.
    pub transform: Option<crate::features::interpolate::Transform>,
    /// With `transform`: what a value outside its domain becomes (`error`, `half_min`, `drop`).
    pub zeros: Option<crate::features::transform::Zeros>,
    /// `interpolate` with `transform = "log"`: `exp` of the estimate (true, default) or
    /// the log-space estimate (false).
    pub back_transform: Option<bool>,
    /// Any continuous layer: classes from `quantile`, `equal_interval` or given `breaks`.
    pub classify: Option<crate::features::transform::RawClassify>,
    /// `interpolate` with `transform = "clr"`: the attributes of the composition (the
    /// `attribute` among them).
    pub parts: Option<Vec<String>>,
    /// `interpolate`: `idw` or `ordinary_kriging`. Default `idw`.
    pub interpolation: Option<crate::features::interpolate::Interpolation>,
    /// Kriging: `spherical`, `exponential` or `gaussian`. Default `spherical`.
    pub variogram: Option<crate::features::interpolate::VariogramModel>,
    /// Kriging: variogram nugget (with `sill` and `range`; else all three are fitted).
    pub nugget: Option<f64>,
    /// Kriging: variogram total sill.
    pub sill: Option<f64>,
    /// Kriging: variogram range, CRS units.
    pub range: Option<f64>,
    /// Kriging: lag bins of the empirical variogram. Default 12.
    pub lags: Option<usize>,
    /// Kriging: add the kriging variance as a second column. Default false.
    pub kriging_variance: Option<bool>,
    /// Kriging: samples at one place are an `error` (default) or replaced by their `mean`
    /// (field duplicates; counted and reported).
    pub duplicates: Option<crate::features::interpolate::Duplicates>,
    /// `spectral`: band-math expression on TOA reflectance, e.g. `(B6 - B7) / (B6 + B7)`.
    pub expression: Option<String>,
    /// `spectral`: a named index instead of an expression.
    pub index: Option<String>,
    /// `spectral`: `landsat8`, `sentinel2` or `aster`. Default: detected from `path`.
    pub sensor: Option<crate::features::spectral::Sensor>,
    /// `spectral`, Sentinel-2: reflectance = (DN + offset) / quantification. Default: the
    /// product metadata's, else 10000.
    pub quantification: Option<f64>,
    /// `spectral`, Sentinel-2: added to every DN (-1000 from baseline 04.00). Default: the
    /// product metadata's, else 0.
    pub offset: Option<f64>,
    /// `spectral`, ASTER: gain setting per band (`high`, `normal`, `low1`, `low2`). Default normal.
    pub gain: Option<std::collections::BTreeMap<String, crate::features::spectral::AsterGain>>,
    /// `spectral`, ASTER: sun elevation, degrees (TOA reflectance instead of radiance).
    pub sun_elevation: Option<f64>,
    /// `spectral`, ASTER: acquisition date `YYYY-MM-DD` (Earth-Sun distance).
    pub acquisition_date: Option<String>,
    /// `spectral`: principal components of chosen bands instead of an expression.
    pub pca: Option<crate::features::spectral::pca::RawPca>,
    /// `spectral`: Crosta's directed principal component instead of an expression.
    pub crosta: Option<crate::features::spectral::pca::RawCrosta>,
}

impl RawEvidence {
    /// Refuses the first of `keys` (name, whether set) that is set on this table,
    /// `evidence[i]`, when the keys belong to another kind, `owner`.
    pub(crate) fn refuse_keys_of<'a>(
        &self,
        i: usize,
        owner: EvidenceKind,
        keys: impl IntoIterator<Item = (&'a str, bool)>,
    ) -> Result<()> {
        match keys.into_iter().find(|&(_, set)| set) {
            Some((k, _)) => Err(Error::key(
                format!("evidence[{i}].{k}"),
                format!("only applies to `{}`, not `{}`", owner.as_str(), self.kind.as_str()),
            )),
            None => Ok(()),
        }
    }
}

/// `wofe = { ... }` of an evidence layer: how weights of evidence generalises it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawWofeLayer {
    /// `ascending` (low values favourable), `descending` (high values favourable) or
    /// `categorical`. Default: `categorical` for one-hot layers, `ascending` otherwise.
    pub method: Option<Method>,
    /// For ascending / descending: the class that ends the favourable pattern (instead of
    /// the class of maximum contrast).
    pub threshold: Option<f64>,
    /// For categorical: the classes that form the favourable pattern (binary
    /// generalisation) instead of one weight per class: codes or class names.
    pub classes: Option<Vec<crate::features::classes::ClassName>>,
    /// A class value that stands for missing data (weight 0, missing-data variance).
    pub missing: Option<i64>,
}

/// Fuzzy membership functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    /// 0 at `low`, 1 at `high`, linear between (decreasing when `low > high`).
    Linear,
    /// `1 / (1 + (x / midpoint)^-spread)`: large values favourable (ArcGIS FuzzyLarge).
    Large,
    /// `1 / (1 + (x / midpoint)^spread)`: small values favourable (ArcGIS FuzzySmall).
    Small,
    /// A membership per class (`values`), `default` for other classes.
    Classes,
}

/// What `low` and `high` of a linear membership are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FuzzyFrom {
    /// Values of the layer.
    #[default]
    Value,
    /// Percentiles (0-100) of the layer over the study area (`model::percentile`).
    Percentile,
}

/// `fuzzy = { ... }` of an evidence layer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFuzzy {
    /// The membership function. Default `linear`.
    #[serde(default = "default_membership")]
    pub membership: Membership,
    /// `percentile`: `low` and `high` are percentiles (0-100) of the layer over the study
    /// area, not values. Default `value`.
    pub from: Option<FuzzyFrom>,
    /// `linear`: value (or percentile) of membership 0.
    pub low: Option<f64>,
    /// `linear`: value (or percentile) of membership 1.
    pub high: Option<f64>,
    /// `large` / `small`: value of membership 0.5.
    pub midpoint: Option<f64>,
    /// `large` / `small`: steepness. Default 5 (ArcGIS's default).
    pub spread: Option<f64>,
    /// `classes`: membership per class, e.g. `{ "585" = 0.9, "1621" = 0.2 }`.
    pub values: Option<std::collections::BTreeMap<String, f64>>,
    /// `classes`: membership of classes not in `values`. Default 0.
    pub default: Option<f64>,
}

/// A validated `[[evidence]]` table.
#[derive(Debug, Clone)]
pub struct EvidenceSettings {
    /// Unique name.
    pub name: String,
    /// Its kind.
    pub kind: EvidenceKind,
    /// The input, raster or vector.
    pub input: EvidenceInput,
    /// Resampling (rasters).
    pub resampling: Resampling,
    /// Attribute (`rasterize`).
    pub attribute: Option<String>,
    /// Classes given by the user (`categorical`).
    pub classes: Option<Vec<i64>>,
    /// Class-count limit.
    pub max_classes: usize,
    /// Weights-of-evidence generalisation.
    pub wofe: RawWofeLayer,
    /// Fuzzy membership (required when the model is fuzzy).
    pub fuzzy: Option<RawFuzzy>,
    /// The keys of its kind, validated.
    pub params: KindParams,
    /// The transform or classification of a continuous layer (`None`: used as computed).
    pub transform: Option<crate::features::transform::Params>,
}

/// The validated keys each kind owns, built once by [`validate_evidence`]: what
/// `features::prepare` reads (never the table as written).
#[derive(Debug, Clone)]
pub enum KindParams {
    /// `raster`: no keys of its own.
    Raster,
    /// `categorical`: a name per integer class.
    Categorical {
        /// `class_names` by integer class (`{ "17306" = "Quartzite" }`); empty when not given.
        class_names: std::collections::BTreeMap<i64, String>,
    },
    /// `distance`.
    Distance(crate::features::distance::Params),
    /// `rasterize`.
    Rasterize {
        /// What study-area cells outside every polygon are.
        unmapped: crate::features::classes::Unmapped,
        /// The classes to encode, as written (codes or names); `None`: every class found.
        classes: Option<Vec<crate::features::classes::ClassName>>,
    },
    /// `terrain`.
    Terrain(crate::features::terrain::Params),
    /// `focal`.
    Focal(crate::features::focal::Params),
    /// `line_density`.
    LineDensity(crate::features::line_density::Params),
    /// `point_density`.
    PointDensity(crate::features::point_density::Params),
    /// `interpolate`.
    Interpolate(Box<crate::features::interpolate::Params>),
    /// `spectral`.
    Spectral(Box<crate::features::spectral::Params>),
    /// `contacts`: only contacts between these pairs of classes (`None`: any).
    Contacts {
        /// `between`.
        between: Option<Vec<[String; 2]>>,
    },
    /// `polygon_value`: no keys of its own.
    PolygonValue,
}

/// Where an evidence layer's values come from.
#[derive(Debug, Clone)]
pub enum EvidenceInput {
    /// A raster band.
    Raster(io::raster::BandRef),
    /// A vector layer.
    Vector(io::vector::LayerRef),
    /// A satellite scene's metadata file (its bands are found next to it).
    Scene(PathBuf),
}

pub(crate) fn validate_evidence(i: usize, ev: &RawEvidence, before: &[EvidenceSettings]) -> Result<EvidenceSettings> {
    let key = |k: &str| format!("evidence[{i}].{k}");
    let name = ev.name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::key(key("name"), format!("`{}` must be non-empty letters, digits, `_` or `-`", ev.name)));
    }
    if before.iter().any(|b| b.name == name) {
        return Err(Error::key(key("name"), format!("`{name}` is used by two layers")));
    }
    let vector_only = |k: &str, set: bool| -> Result<()> {
        if set {
            Err(Error::key(key(k), format!("only applies to vector kinds, not `{}`", ev.kind.as_str())))
        } else {
            Ok(())
        }
    };
    let input = match ev.kind {
        EvidenceKind::Spectral => {
            if !ev.path.exists() {
                return Err(Error::MissingFile { key: key("path"), path: ev.path.clone() });
            }
            EvidenceInput::Scene(ev.path.clone())
        }
        EvidenceKind::Raster | EvidenceKind::Categorical | EvidenceKind::Terrain | EvidenceKind::Focal => {
            vector_only("layer", ev.layer.is_some())?;
            vector_only("where", ev.filter.is_some())?;
            vector_only("attribute", ev.attribute.is_some())?;
            vector_only("x", ev.x.is_some())?;
            vector_only("y", ev.y.is_some())?;
            vector_only("crs", ev.crs.is_some())?;
            EvidenceInput::Raster(io::raster::BandRef::open(&key("path"), &ev.path, ev.band)?)
        }
        EvidenceKind::Distance
        | EvidenceKind::Contacts
        | EvidenceKind::Rasterize
        | EvidenceKind::LineDensity
        | EvidenceKind::PointDensity
        | EvidenceKind::Interpolate
        | EvidenceKind::PolygonValue => {
            let keys = io::vector::SourceKeys::new(
                &format!("evidence[{i}]"),
                ev.x.as_deref(),
                ev.y.as_deref(),
                ev.crs.as_deref(),
            );
            let layer = io::vector::LayerRef::open_with(
                &key("path"),
                &ev.path,
                ev.layer.as_deref(),
                ev.filter.as_deref(),
                &keys,
            )?;
            if matches!(ev.kind, EvidenceKind::Rasterize | EvidenceKind::Contacts) {
                let Some(attr) = ev.attribute.as_deref() else {
                    return Err(Error::key(
                        key("attribute"),
                        format!("`{}` needs the attribute that names the unit of each polygon", ev.kind.as_str()),
                    ));
                };
                layer.check_field(attr)?;
            }
            if ev.kind == EvidenceKind::PolygonValue {
                let Some(attr) = ev.attribute.as_deref() else {
                    return Err(Error::key(key("attribute"), "`polygon_value` needs the numeric attribute to burn"));
                };
                layer.check_field(attr)?;
            }
            if let (EvidenceKind::PointDensity | EvidenceKind::Interpolate, Some(attr)) =
                (ev.kind, ev.attribute.as_deref())
            {
                layer.check_field(attr)?;
            }
            if ev.kind == EvidenceKind::Interpolate {
                for part in ev.parts.iter().flatten() {
                    layer.check_field(part)?;
                }
                if let (Some(sheet), Some(join)) = (&ev.below_detection_layer, &ev.join) {
                    layer.check_field(join)?;
                    io::table::check_columns(&ev.path, sheet, &[join], &key("below_detection_layer"))?;
                }
            }
            EvidenceInput::Vector(layer)
        }
    };
    if ev.classes.is_some() && !matches!(ev.kind, EvidenceKind::Categorical | EvidenceKind::Rasterize) {
        return Err(Error::key(key("classes"), "only applies to `categorical` and `rasterize` layers"));
    }
    if let Some(classes) = &ev.classes {
        if classes.is_empty() {
            return Err(Error::key(key("classes"), "lists no class"));
        }
    }
    if ev.max_classes == 0 || ev.max_classes > crate::grid::MAX_CLASSES {
        return Err(Error::key(
            key("max_classes"),
            format!("{} is outside 1..={} (each class is a feature column)", ev.max_classes, crate::grid::MAX_CLASSES),
        ));
    }
    crate::features::classes::check_keys(i, ev)?;
    let classes = match (&ev.classes, ev.kind) {
        (Some(c), EvidenceKind::Categorical) => Some(
            crate::features::classes::categorical_codes(c, ev.class_names.as_ref())
                .map_err(|m| Error::key(key("classes"), m))?,
        ),
        _ => None,
    };
    let (params, transform) = kind_params(i, ev)?;
    Ok(EvidenceSettings {
        name: name.to_string(),
        kind: ev.kind,
        input,
        resampling: ev.resampling,
        attribute: ev.attribute.clone(),
        classes,
        max_classes: ev.max_classes,
        wofe: ev.wofe.clone().unwrap_or_default(),
        fuzzy: ev.fuzzy.clone(),
        params,
        transform,
    })
}

/// Checks the keys each kind owns on `evidence[i]`: its own kind's values, and that no
/// other kind's key is set.
#[cfg(test)]
pub(crate) fn check_kind_keys(i: usize, ev: &RawEvidence) -> Result<()> {
    kind_params(i, ev).map(|_| ())
}

/// Validates the keys of `evidence[i]`'s kind into its [`KindParams`] (refusing every
/// other kind's keys), and its transform or classification.
fn kind_params(i: usize, ev: &RawEvidence) -> Result<(KindParams, Option<crate::features::transform::Params>)> {
    use crate::features::{distance, focal, interpolate, line_density, point_density, spectral, terrain, transform};
    let terrain = terrain::Params::from_raw(i, ev)?;
    let focal = focal::Params::from_raw(i, ev)?;
    let distance = distance::Params::from_raw(i, ev)?;
    let line_density = line_density::Params::from_raw(i, ev)?;
    let point_density = point_density::Params::from_raw(i, ev)?;
    let interpolate = interpolate::Params::from_raw(i, ev)?;
    let spectral = spectral::Params::from_raw(i, ev)?;
    let transform = transform::Params::from_raw(i, ev)?;
    // Each `from_raw` gives `Some` for its own kind (an error otherwise).
    let missing = || Error::key(format!("evidence[{i}].kind"), format!("`{}` keys were not checked", ev.kind.as_str()));
    let params = match ev.kind {
        EvidenceKind::Raster => KindParams::Raster,
        EvidenceKind::Categorical => KindParams::Categorical {
            class_names: match &ev.class_names {
                Some(t) => crate::features::classes::parse_class_names(t)
                    .map_err(|m| Error::key(format!("evidence[{i}].class_names"), m))?,
                None => Default::default(),
            },
        },
        EvidenceKind::Distance => KindParams::Distance(distance.unwrap_or_default()),
        EvidenceKind::Rasterize => {
            KindParams::Rasterize { unmapped: ev.unmapped.unwrap_or_default(), classes: ev.classes.clone() }
        }
        EvidenceKind::Terrain => KindParams::Terrain(terrain.ok_or_else(missing)?),
        EvidenceKind::Focal => KindParams::Focal(focal.ok_or_else(missing)?),
        EvidenceKind::LineDensity => KindParams::LineDensity(line_density.ok_or_else(missing)?),
        EvidenceKind::PointDensity => KindParams::PointDensity(point_density.ok_or_else(missing)?),
        EvidenceKind::Interpolate => KindParams::Interpolate(Box::new(interpolate.ok_or_else(missing)?)),
        EvidenceKind::Spectral => KindParams::Spectral(Box::new(spectral.ok_or_else(missing)?)),
        EvidenceKind::Contacts => KindParams::Contacts { between: ev.between.clone() },
        EvidenceKind::PolygonValue => KindParams::PolygonValue,
    };
    Ok((params, transform))
}

fn default_band() -> usize {
    1
}
fn default_max_classes() -> usize {
    256
}
fn default_membership() -> Membership {
    Membership::Linear
}
