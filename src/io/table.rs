//! Point tables: any GDAL table source (XLSX, ODS, CSV, a DBF or GeoPackage table) whose
//! points are two coordinate columns, as surveys ship their geochemistry. The `x` and `y`
//! keys name the columns and `crs` the CRS of the coordinates; `layer` picks the sheet.
//!
//! Every row is accounted for: a row with an empty coordinate is skipped and counted (the
//! count is logged and kept with the layer's description), a coordinate that is not a
//! number is an error naming the row, the column and the value. Rows are numbered as
//! the sheet shows them (the header is row 1, the first data row is row 2).
//!
//! Also here: the check that a layer's coordinates lie in the area of use of the CRS they
//! are read in (metres read as degrees, or a wrong `.prj`), shared by every vector input.

use gdal::spatial_ref::{CoordTransform, SpatialRef};
use gdal::vector::{FieldValue, Layer, LayerAccess};

use crate::error::{Error, Result};
use crate::io::parse_crs;

/// The coordinate columns of a point table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XyColumns {
    /// Column of the x coordinate (easting, longitude).
    pub x: String,
    /// Column of the y coordinate (northing, latitude).
    pub y: String,
}

/// One coordinate of a row: a number, or empty (`None`); anything else is an error message.
pub fn coordinate_of(value: Option<FieldValue>) -> std::result::Result<Option<f64>, String> {
    let v = match value {
        None => return Ok(None),
        Some(FieldValue::RealValue(v)) => v,
        Some(FieldValue::IntegerValue(v)) => v as f64,
        Some(FieldValue::Integer64Value(v)) => v as f64,
        Some(FieldValue::StringValue(s)) => {
            let t = s.trim();
            if t.is_empty() {
                return Ok(None);
            }
            t.parse::<f64>().map_err(|_| format!("`{t}` is not a number"))?
        }
        Some(other) => return Err(format!("{other:?} is not a number")),
    };
    if v.is_finite() {
        Ok(Some(v))
    } else {
        Err(format!("{v} is not a finite number"))
    }
}

/// The index of each coordinate column in `lyr`, or an error naming the key (`x` or `y`,
/// as `{prefix}.x`) and listing the columns there are.
pub fn column_indices(lyr: &Layer, cols: &XyColumns, prefix: &str) -> std::result::Result<(usize, usize), Error> {
    let names: Vec<String> = lyr.defn().fields().map(|f| f.name()).collect();
    let find = |name: &str, key: &str| {
        names.iter().position(|n| n == name).ok_or_else(|| {
            Error::key(
                format!("{prefix}.{key}"),
                format!("layer `{}` has no column `{name}`; its columns are: {}", lyr.name(), names.join(", ")),
            )
        })
    };
    Ok((find(&cols.x, "x")?, find(&cols.y, "y")?))
}

/// Reads the coordinates of every row that passes the layer's filter, in order: `Some`
/// for a row with both coordinates, `None` for a row with an empty one (skipped by the
/// caller, which counts them). A coordinate that is not a number is an error message
/// naming the row and column.
pub fn row_points(
    lyr: &mut Layer,
    ix: usize,
    iy: usize,
    cols: &XyColumns,
) -> std::result::Result<Vec<PointRow>, String> {
    let mut out = Vec::new();
    for (k, feature) in lyr.features().enumerate() {
        let read = |i: usize, name: &str| {
            let v = feature.field(i).map_err(|e| format!("row {}: column `{name}`: {e}", row_number(&feature, k)))?;
            coordinate_of(v).map_err(|m| format!("row {}, column `{name}`: {m}", row_number(&feature, k)))
        };
        let (x, y) = (read(ix, &cols.x)?, read(iy, &cols.y)?);
        out.push(PointRow { fid: feature.fid(), xy: x.zip(y) });
    }
    Ok(out)
}

/// One row of a point table: its feature id and its coordinates when it has both.
#[derive(Debug, Clone, Copy)]
pub struct PointRow {
    /// OGR's feature id.
    pub fid: Option<u64>,
    /// `(x, y)`, `None` when a coordinate is empty.
    pub xy: Option<(f64, f64)>,
}

/// The spreadsheet row of a feature: OGR's XLSX/ODS drivers number data rows from 1 after
/// the header, so the sheet row is fid + 1; elsewhere the position + 2.
fn row_number(feature: &gdal::vector::Feature, position: usize) -> u64 {
    feature.fid().map_or(position as u64 + 2, |f| f + 1)
}

/// Errors unless the extent `[xmin, ymin, xmax, ymax]` of a layer's coordinates lies in
/// the area of use of `srs` (with a margin of 5 degrees, as a projected CRS's area is not a
/// rectangle in it): coordinates in metres read as
/// degrees, or a source that declares a CRS it is not in. `what` names the layer and
/// `key` the config key that assigns a CRS. A CRS without a registered area of use
/// (a custom WKT) is not checked.
pub fn check_area_of_use(srs: &SpatialRef, extent: [f64; 4], what: &str, key: &str) -> Result<()> {
    let name = crate::io::crs_name(srs);
    // A CRS read from a file's WKT1 carries its EPSG code but not always its area: look it up.
    let by_code = || name.starts_with("EPSG:").then(|| parse_crs(&name).ok()).flatten().and_then(|s| s.area_of_use());
    let Some(area) = srs.area_of_use().or_else(by_code) else { return Ok(()) };
    let fail = |detail: String| {
        Error::key(
            key,
            format!(
                "{what}: its coordinates ({:.6}, {:.6}) to ({:.6}, {:.6}) fall outside the area of use of its CRS \
                 {name} ({}: longitude {} to {}, latitude {} to {}){detail}; if the source is in another CRS, \
                 give it with `{key}` (e.g. `{key} = \"EPSG:2157\"`)",
                extent[0],
                extent[1],
                extent[2],
                extent[3],
                area.name,
                area.west_lon_degree,
                area.east_lon_degree,
                area.south_lat_degree,
                area.north_lat_degree,
            ),
        )
    };
    let wgs84 = parse_crs("EPSG:4326").map_err(|e| Error::key(key, e.to_string()))?;
    let to_lonlat = CoordTransform::new(srs, &wgs84).map_err(|e| Error::key(key, e.to_string()))?;
    let [x0, y0, x1, y1] = extent;
    let (xm, ym) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
    let mut xs = [x0, x1, x0, x1, xm];
    let mut ys = [y0, y0, y1, y1, ym];
    let mut zs = [0.0; 5];
    if let Err(e) = to_lonlat.transform_coords(&mut xs, &mut ys, &mut zs) {
        return Err(fail(format!(" (they cannot be converted to longitude and latitude: {e})")));
    }
    const MARGIN: f64 = 5.0;
    let (w, e) = (area.west_lon_degree - MARGIN, area.east_lon_degree + MARGIN);
    let (s, n) = (area.south_lat_degree - MARGIN, area.north_lat_degree + MARGIN);
    // An area of use across the antimeridian has west > east.
    let lon_ok = |lon: f64| if w <= e { (w..=e).contains(&lon) } else { lon >= w || lon <= e };
    for (lon, lat) in xs.iter().zip(&ys) {
        if !(lon.is_finite() && lat.is_finite() && lon_ok(*lon) && (s..=n).contains(lat)) {
            return Err(fail(format!(" (a corner is at longitude {lon:.3}, latitude {lat:.3})")));
        }
    }
    Ok(())
}

/// Errors unless layer `layer` of `path` exists and has every one of `columns`; `key`
/// names the config key in the error (for `lode validate`).
pub fn check_columns(path: &std::path::Path, layer: &str, columns: &[&str], key: &str) -> Result<()> {
    crate::io::init();
    let ds = gdal::Dataset::open(path).map_err(|e| Error::input(path, e))?;
    let lyr = ds.layer_by_name(layer).map_err(|_| {
        let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
        Error::key(key, format!("{} has no layer `{layer}`; its layers are: {}", path.display(), names.join(", ")))
    })?;
    let names: Vec<String> = lyr.defn().fields().map(|f| f.name()).collect();
    match columns.iter().find(|c| !names.iter().any(|n| n == *c)) {
        Some(c) => Err(Error::key(
            key,
            format!("layer `{layer}` of {} has no column `{c}`; its columns are: {}", path.display(), names.join(", ")),
        )),
        None => Ok(()),
    }
}

/// The values of `columns` in every row of layer `layer` of `path` (no geometry needed: a
/// sheet of a workbook), with `None` for a column the layer does not have.
pub fn read_columns(
    path: &std::path::Path,
    layer: &str,
    columns: &[&str],
) -> Result<Vec<Vec<Option<crate::io::vector::Attr>>>> {
    use crate::io::vector::Attr;
    crate::io::init();
    let ds = gdal::Dataset::open(path).map_err(|e| Error::input(path, e))?;
    let mut lyr = ds.layer_by_name(layer).map_err(|_| {
        let names: Vec<String> = ds.layers().map(|l| l.name()).collect();
        Error::Layer {
            path: path.into(),
            layer: layer.into(),
            message: format!("no such layer; the layers are: {}", names.join(", ")),
        }
    })?;
    let idx: Vec<Option<usize>> = columns.iter().map(|c| lyr.defn().field_index(c).ok()).collect();
    let mut out = Vec::new();
    for feature in lyr.features() {
        let row = idx
            .iter()
            .map(|i| {
                let Some(i) = *i else { return Ok(None) };
                let v = feature.field(i).map_err(|e| Error::Layer {
                    path: path.into(),
                    layer: layer.into(),
                    message: e.to_string(),
                })?;
                Ok(Some(Attr::from(v)))
            })
            .collect::<Result<Vec<_>>>()?;
        out.push(row);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_numbers_or_empty() {
        assert_eq!(coordinate_of(Some(FieldValue::RealValue(612280.5))), Ok(Some(612280.5)));
        assert_eq!(coordinate_of(Some(FieldValue::IntegerValue(7))), Ok(Some(7.0)));
        assert_eq!(coordinate_of(Some(FieldValue::StringValue(" 705769.06 ".into()))), Ok(Some(705769.06)));
        assert_eq!(coordinate_of(Some(FieldValue::StringValue("".into()))), Ok(None));
        assert_eq!(coordinate_of(None), Ok(None));
        assert!(coordinate_of(Some(FieldValue::StringValue("N/A".into()))).unwrap_err().contains("`N/A`"));
        assert!(coordinate_of(Some(FieldValue::RealValue(f64::NAN))).is_err());
    }

    #[test]
    fn metres_read_as_degrees_are_outside_the_area_of_use() {
        crate::io::init();
        let itm = parse_crs("EPSG:2157").unwrap();
        // The topsoil survey's extent, in ITM metres: inside.
        let survey = [612280.4, 581206.2, 734094.4, 705769.1];
        assert!(check_area_of_use(&itm, survey, "t", "labels.crs").is_ok());
        // The same numbers read as degrees: outside, naming the key.
        let wgs84 = parse_crs("EPSG:4326").unwrap();
        let e = check_area_of_use(&wgs84, survey, "points.csv", "labels.crs").unwrap_err().to_string();
        assert!(e.contains("labels.crs") && e.contains("area of use") && e.contains("EPSG:4326"), "{e}");
        // Irish Grid metres read as Australian Albers: outside.
        let albers = parse_crs("EPSG:3577").unwrap();
        assert!(check_area_of_use(&albers, survey, "t", "evidence[0].crs").is_err());
    }
}
