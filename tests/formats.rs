//! Vector inputs in the formats geologists use, in another CRS, and attribute filters:
//! deposits converted with GDAL's own `ogr2ogr` must place the same points in the same
//! cells, and a `where` filter must keep what `ogrinfo` keeps.

mod common;

use common::*;

const EVIDENCE: &str = "[[evidence]]\nname = \"fd\"\nkind = \"raster\"\npath = \"FD\"\n";

fn validate(dir: &std::path::Path, labels: &str) -> (bool, String, String) {
    let ev = EVIDENCE.replace("FD", cloncurry("FaultDensity.tif").to_str().unwrap());
    let text = cloncurry_config(&dir.join("out"), "", &ev)
        .replace(&format!("path = \"{}\"", cloncurry("IOCG_Deposits.shp").display()), labels);
    let path = write(dir, "v.toml", &text);
    let o = lode(&["validate", path.to_str().unwrap()]);
    (o.status.success(), String::from_utf8_lossy(&o.stdout).into_owned(), stderr(&o))
}

#[test]
fn deposits_in_geopackage_flatgeobuf_and_wgs84_geojson_land_in_the_same_cells() {
    let tmp = tempfile::tempdir().unwrap();
    let shp = cloncurry("IOCG_Deposits.shp");
    for (file, args) in [
        ("d.gpkg", vec!["-f", "GPKG"]),
        ("d.fgb", vec!["-f", "FlatGeobuf"]),
        ("d.geojson", vec!["-f", "GeoJSON", "-t_srs", "EPSG:4326", "-lco", "COORDINATE_PRECISION=9"]),
    ] {
        let out = tmp.path().join(file);
        let mut a: Vec<&str> = args.clone();
        a.extend([out.to_str().unwrap(), shp.to_str().unwrap()]);
        tool("ogr2ogr", &a);
        let (ok, stdout, err) = validate(tmp.path(), &format!("path = \"{}\"", out.display()));
        assert!(ok, "{file}: {err}");
        assert!(stdout.contains("258 read, 258 inside the study area in 252 cells"), "{file}: {stdout}");
    }
}

#[test]
fn where_filter_keeps_what_ogrinfo_keeps() {
    let tmp = tempfile::tempdir().unwrap();
    let shp = cloncurry("IOCG_Deposits.shp");
    let filter = "Status = 'Deposit'";
    let listed = tool("ogrinfo", &["-q", "-al", "-where", filter, shp.to_str().unwrap()]);
    let expected = listed.matches("OGRFeature(").count();
    assert!(expected > 0 && expected < 258);
    let labels = format!("path = \"{}\"\nwhere = \"{filter}\"", shp.display());
    let (ok, stdout, err) = validate(tmp.path(), &labels);
    assert!(ok, "{err}");
    assert!(stdout.contains(&format!("{expected} read, {expected} inside")), "{stdout}");
}

#[test]
fn a_bad_filter_names_the_layer_and_the_filter() {
    let tmp = tempfile::tempdir().unwrap();
    let labels = format!("path = \"{}\"\nwhere = \"Statsu = 'Deposit'\"", cloncurry("IOCG_Deposits.shp").display());
    let (ok, _, err) = validate(tmp.path(), &labels);
    assert!(!ok);
    assert!(err.contains("IOCG_Deposits") && err.contains("Statsu = 'Deposit'"), "{err}");
}
