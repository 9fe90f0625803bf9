//! The run's STAC Item (`stac/item.json`), so a run drops into a catalogue or a data
//! cube: a STAC 1.1 Item (the current 1.x release of the spec) with the
//! projection (v2.0.0), raster (v1.1.0) and file (v2.1.0) extensions. Its footprint is the
//! grid's outline in WGS84 (each edge densified to 16 points before reprojection); each
//! raster and vector output is an asset (`href` relative to the item, media type, roles,
//! `file:size` and `file:checksum` as a SHA-256 multihash), the rasters with
//! `raster:bands` (float32, lode's nodata, the cell size) and the item's grid in
//! `proj:code`, `proj:wkt2`, `proj:shape`, `proj:transform` and `proj:bbox`.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::config::Settings;
use crate::error::{Error, Result};

/// Where the item goes inside the output folder.
pub const ITEM_PATH: &str = "stac/item.json";

/// The extension schemas the item declares.
pub const EXTENSIONS: [&str; 3] = [
    "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "https://stac-extensions.github.io/file/v2.1.0/schema.json",
];

/// Media type and roles of an output, by file name; `None` for files that are no asset.
fn kind_of(name: &str) -> Option<(&'static str, &'static [&'static str], bool)> {
    let ext = name.rsplit('.').next().unwrap_or("");
    Some(match ext {
        "tif" => ("image/tiff; application=geotiff; profile=cloud-optimized", &["data"][..], true),
        "gpkg" => ("application/geopackage+sqlite3", &["data"][..], false),
        "geojson" => ("application/geo+json", &["data"][..], false),
        "png" if name == "quicklook.png" => ("image/png", &["thumbnail", "overview"][..], false),
        "png" => ("image/png", &["overview"][..], false),
        "html" => ("text/html", &["metadata"][..], false),
        "json" if name == "metrics.json" || name == "model.json" => ("application/json", &["metadata"][..], false),
        "csv" => ("text/csv", &["metadata"][..], false),
        "qml" => ("text/xml", &["style"][..], false),
        "xml" if name.ends_with(".tif.aux.xml") => ("application/xml", &["metadata"][..], false),
        _ => return None,
    })
}

/// `t` (seconds since 1970) as RFC 3339 UTC, e.g. `2026-12-01T21:30:00Z`.
pub fn rfc3339(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The STAC Item of the outputs `files` (name, path) of a run on `settings`, dated `datetime`.
pub fn item(settings: &Settings, files: &[(String, PathBuf)], datetime: &str) -> Result<Value> {
    let grid = &settings.grid;
    let [x0, y0, x1, y1] = grid.bounds();
    let n = 16;
    let mut ring = Vec::new();
    for i in 0..n {
        ring.push([x0 + (x1 - x0) * i as f64 / n as f64, y0]);
    }
    for i in 0..n {
        ring.push([x1, y0 + (y1 - y0) * i as f64 / n as f64]);
    }
    for i in 0..n {
        ring.push([x1 - (x1 - x0) * i as f64 / n as f64, y1]);
    }
    for i in 0..n {
        ring.push([x0, y1 - (y1 - y0) * i as f64 / n as f64]);
    }
    let mut lonlat = crate::io::to_lonlat(&grid.crs_wkt, &ring)?;
    lonlat.push(lonlat[0]);
    let fold = |f: fn(f64, f64) -> f64, k: usize, init: f64| lonlat.iter().map(|p| p[k]).fold(init, f);
    let bbox = [
        fold(f64::min, 0, f64::MAX),
        fold(f64::min, 1, f64::MAX),
        fold(f64::max, 0, f64::MIN),
        fold(f64::max, 1, f64::MIN),
    ];
    let gt = grid.geo_transform;
    let info = grid.info();
    let code = if info.crs.contains(':') { Value::String(info.crs.clone()) } else { Value::Null };
    let mut assets = serde_json::Map::new();
    for (name, path) in files {
        let Some((media, roles, raster)) = kind_of(name) else { continue };
        let (size, sha) = crate::manifest::sha256_file(path)?;
        // The maps and the targets by their stem, every other file by its name.
        let key = match name.rsplit_once('.') {
            Some((stem, "tif" | "gpkg")) => stem.replace('/', "-"),
            _ => name.replace(['.', '/'], "-"),
        };
        let mut a = json!({
            "href": format!("../{name}"),
            "type": media,
            "title": name,
            "roles": roles,
            "file:size": size,
            "file:checksum": format!("1220{sha}"),
        });
        // A class map (evidence with class names, in the `.aux.xml` beside it) is Int32.
        let classes = files.iter().any(|(n, _)| *n == format!("{name}.aux.xml"));
        if raster {
            let (data_type, nodata) = match classes {
                true => ("int32", crate::io::class_map::CLASS_NODATA as f64),
                false => ("float32", crate::io::cog::NODATA as f64),
            };
            a["raster:bands"] = json!([{
                "data_type": data_type,
                "nodata": nodata,
                "sampling": "area",
                "spatial_resolution": grid.cell_width(),
            }]);
        }
        assets.insert(key, a);
    }
    Ok(json!({
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": EXTENSIONS,
        "id": format!("{}-{}", settings.name, &settings.settings_sha256[..12.min(settings.settings_sha256.len())]),
        "geometry": { "type": "Polygon", "coordinates": [lonlat] },
        "bbox": bbox,
        "properties": {
            "datetime": datetime,
            "created": datetime,
            "title": format!("lode prospectivity map: {}", settings.name),
            "description": "Probability of a deposit and ranked target areas, made by lode",
            "proj:code": code,
            "proj:wkt2": grid.crs_wkt,
            "proj:shape": [grid.rows, grid.cols],
            "proj:transform": [gt[1], gt[2], gt[0], gt[4], gt[5], gt[3]],
            "proj:bbox": [x0, y0, x1, y1],
            "lode:version": crate::metrics::VERSION,
            "lode:model": settings.model.kind,
        },
        "links": [],
        "assets": assets,
    }))
}

/// Writes the item of `files` to `dest` (creating its folder).
pub fn write(settings: &Settings, files: &[(String, PathBuf)], datetime: &str, dest: &Path) -> Result<()> {
    let value = item(settings, files, datetime)?;
    if let Some(dir) = dest.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
    }
    let text = serde_json::to_string_pretty(&value).map_err(|e| Error::output(dest, e))?;
    std::fs::write(dest, text + "\n").map_err(|e| Error::output(dest, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        let at = |s: u64| rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        // `date -u -d @951782400`: the leap day of 2000, and `date -u -d @1796160645`.
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_796_160_645), "2026-12-01T21:30:45Z");
    }
}
