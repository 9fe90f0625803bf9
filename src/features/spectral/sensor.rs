//! Sensors of `kind = "spectral"`: their band names, where each band's file is, and the
//! linear scaling of each band's DN to a physical value (Landsat 8/9 OLI from the MTL,
//! Sentinel-2 MSI from the quantification value and offsets, ASTER from the unit
//! conversion coefficients and, optionally, the sun's elevation and solar irradiance).
//!
//! Every scaling here is `value = scale · DN + add` per band: linear, so it commutes with
//! the bilinear and average resampling that puts the band on the grid.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::expr::band_position;

/// The satellite sensor of a scene.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sensor {
    /// Landsat 8/9 OLI: `path` is the scene's `*_MTL.txt`.
    Landsat8,
    /// Sentinel-2 MSI L1C or L2A: `path` is a folder of band files.
    Sentinel2,
    /// Terra ASTER L1T VNIR and SWIR: `path` is a folder of band files.
    Aster,
}

/// Landsat 8/9 OLI/TIRS bands.
pub const LANDSAT8_BANDS: &[&str] = &["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B9", "B10", "B11"];
/// Sentinel-2 MSI bands, in the order of the product metadata's `band_id` (0..12).
pub const SENTINEL2_BANDS: &[&str] =
    &["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"];
/// ASTER VNIR (B1, B2, B3N at 15 m) and SWIR (B4..B9 at 30 m) bands.
pub const ASTER_BANDS: &[&str] = &["B1", "B2", "B3N", "B4", "B5", "B6", "B7", "B8", "B9"];

impl Sensor {
    /// The name used in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Sensor::Landsat8 => "landsat8",
            Sensor::Sentinel2 => "sentinel2",
            Sensor::Aster => "aster",
        }
    }

    /// The band names expressions use.
    pub fn bands(self) -> &'static [&'static str] {
        match self {
            Sensor::Landsat8 => LANDSAT8_BANDS,
            Sensor::Sentinel2 => SENTINEL2_BANDS,
            Sensor::Aster => ASTER_BANDS,
        }
    }

    /// The sensor of `path` when the config does not say: a file is a Landsat MTL; a
    /// folder holding a `B8A` band file is Sentinel-2, one holding a `B3N` file is ASTER.
    pub fn detect(path: &Path) -> std::result::Result<Sensor, String> {
        if path.is_file() {
            return Ok(Sensor::Landsat8);
        }
        let s2 = !folder_band_files(path, Sensor::Sentinel2)?.get(&8).is_none_or(Vec::is_empty);
        let aster = !folder_band_files(path, Sensor::Aster)?.get(&2).is_none_or(Vec::is_empty);
        match (s2, aster) {
            (true, false) => Ok(Sensor::Sentinel2),
            (false, true) => Ok(Sensor::Aster),
            _ => Err(format!(
                "cannot tell the sensor of folder {} (a Sentinel-2 folder has a *_B8A file, an ASTER folder a *_B3N file); set `sensor`",
                path.display()
            )),
        }
    }
}

/// The extensions of band files in a folder.
const EXTENSIONS: &[&str] = &["tif", "tiff", "jp2"];

/// Whether a file stem (lower case, resolution suffix removed) names band `label`
/// (`1`, `8a`, `3n`): it ends in `_b1`, `_b01`, `imagedata1`, or is `b1` / `b01`.
fn stem_is_band(stem: &str, label: &str) -> bool {
    let padded = if label.len() == 1 || label.chars().nth(1).is_some_and(|c| c.is_ascii_alphabetic()) {
        format!("0{label}")
    } else {
        label.to_string()
    };
    [label, padded.as_str()].iter().any(|l| {
        let b = format!("b{l}");
        stem == b || stem.ends_with(&format!("_{b}")) || stem.ends_with(&format!("imagedata{l}"))
    })
}

/// Band files per band position: (resolution in metres from the file name, file).
pub type BandFiles = BTreeMap<usize, Vec<(Option<u32>, PathBuf)>>;

/// Band files of a Sentinel-2 or ASTER folder (and, for Sentinel-2, of its `R10m`,
/// `R20m`, `R60m` subfolders, as in an L2A granule), per band position: (resolution in
/// metres from an `_10m`-style suffix, file).
pub fn folder_band_files(dir: &Path, sensor: Sensor) -> std::result::Result<BandFiles, String> {
    let mut dirs = vec![dir.to_path_buf()];
    if sensor == Sensor::Sentinel2 {
        dirs.extend(["R10m", "R20m", "R60m"].iter().map(|d| dir.join(d)).filter(|d| d.is_dir()));
    }
    let mut out = BandFiles::new();
    for d in dirs {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("cannot list folder {}: {e}", d.display()))?;
        for p in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            let (Some(stem), Some(ext)) = (p.file_stem(), p.extension()) else { continue };
            if !EXTENSIONS.contains(&ext.to_string_lossy().to_lowercase().as_str()) {
                continue;
            }
            let mut stem = stem.to_string_lossy().to_lowercase();
            let mut res = None;
            if let Some((head, tail)) = stem.rsplit_once('_') {
                if let Some(m) = tail.strip_suffix('m').and_then(|m| m.parse::<u32>().ok()) {
                    res = Some(m);
                    stem = head.to_string();
                }
            }
            for (b, name) in sensor.bands().iter().enumerate() {
                let label = name[1..].to_lowercase();
                if stem_is_band(&stem, &label) {
                    out.entry(b).or_default().push((res, p.clone()));
                }
            }
        }
    }
    Ok(out)
}

/// ASTER gain setting of a band (from the scene's metadata), which picks its unit
/// conversion coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AsterGain {
    /// High gain.
    High,
    /// Normal gain (the default).
    Normal,
    /// Low gain 1.
    Low1,
    /// Low gain 2 (SWIR bands only).
    Low2,
}

/// ASTER unit conversion coefficients, W m⁻² sr⁻¹ µm⁻¹ per DN, per band (B1, B2, B3N,
/// B4..B9) and gain (high, normal, low 1, low 2; `None`: no such setting): ASTER User
/// Handbook version 2 (Abrams, Hook & Ramachandran, JPL), table 5.
pub const ASTER_UCC: [[Option<f64>; 4]; 9] = [
    [Some(0.676), Some(1.688), Some(2.25), None],
    [Some(0.708), Some(1.415), Some(1.89), None],
    [Some(0.423), Some(0.862), Some(1.15), None],
    [Some(0.1087), Some(0.2174), Some(0.290), Some(0.290)],
    [Some(0.0348), Some(0.0696), Some(0.0925), Some(0.409)],
    [Some(0.0313), Some(0.0625), Some(0.0830), Some(0.390)],
    [Some(0.0299), Some(0.0597), Some(0.0795), Some(0.332)],
    [Some(0.0209), Some(0.0417), Some(0.0556), Some(0.245)],
    [Some(0.0159), Some(0.0318), Some(0.0424), Some(0.265)],
];

/// ASTER band-mean exo-atmospheric solar irradiance, W m⁻² µm⁻¹ (B1, B2, B3N, B4..B9),
/// Thome et al. (2001) as used by the LP DAAC's ASTER L1T reflectance tutorial.
pub const ASTER_ESUN: [f64; 9] = [1848.0, 1549.0, 1114.0, 225.4, 86.63, 81.85, 74.85, 66.49, 59.85];

/// Earth–Sun distance in astronomical units on day-of-year `doy`:
/// `1 − 0.01672 · cos(0.9856° · (doy − 4))`.
pub fn earth_sun_distance(doy: u32) -> f64 {
    1.0 - 0.01672 * (0.9856 * (doy as f64 - 4.0)).to_radians().cos()
}

/// Day of year (1..366) of an ISO date `YYYY-MM-DD`.
pub fn day_of_year(date: &str) -> std::result::Result<u32, String> {
    let bad = || format!("`{date}` is not a date YYYY-MM-DD");
    let parts: Vec<&str> = date.trim().split('-').collect();
    let [y, m, d] = parts.as_slice() else { return Err(bad()) };
    let (y, m, d): (i32, u32, u32) =
        (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&m) || d == 0 || d > days[m as usize - 1] {
        return Err(bad());
    }
    Ok(days[..m as usize - 1].iter().sum::<u32>() + d)
}

/// The user's radiometric keys (all optional).
#[derive(Debug, Clone, Default)]
pub struct Radiometry {
    /// Sentinel-2: reflectance = (DN + offset) / quantification.
    pub quantification: Option<f64>,
    /// Sentinel-2: added to every band's DN (−1000 from processing baseline 04.00 on).
    pub offset: Option<f64>,
    /// ASTER: gain per band position; normal when absent.
    pub gain: BTreeMap<usize, AsterGain>,
    /// ASTER: sun elevation in degrees (reflectance instead of radiance).
    pub sun_elevation: Option<f64>,
    /// ASTER: day of year of the acquisition (for the Earth–Sun distance).
    pub day_of_year: Option<u32>,
}

/// The radiometric metadata of a Landsat 8/9 scene, from its MTL file.
#[derive(Debug, Clone)]
pub struct Mtl {
    /// Sun elevation, degrees.
    pub sun_elevation: f64,
    /// Per reflective band number: (REFLECTANCE_MULT, REFLECTANCE_ADD).
    pub reflectance: BTreeMap<usize, (f64, f64)>,
    /// Per band number: the file named by the MTL.
    pub files: BTreeMap<usize, String>,
}

impl Mtl {
    /// Parses the `KEY = value` lines of an MTL text.
    pub fn parse(text: &str) -> std::result::Result<Mtl, String> {
        let mut kv = BTreeMap::new();
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                kv.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
            }
        }
        let num = |k: &str| -> std::result::Result<f64, String> {
            let v = kv.get(k).ok_or_else(|| format!("has no {k}"))?;
            v.parse().map_err(|_| format!("{k} = {v} is not a number"))
        };
        let sun_elevation = num("SUN_ELEVATION")?;
        let mut reflectance = BTreeMap::new();
        let mut files = BTreeMap::new();
        for b in 1..=11 {
            if let (Ok(m), Ok(a)) =
                (num(&format!("REFLECTANCE_MULT_BAND_{b}")), num(&format!("REFLECTANCE_ADD_BAND_{b}")))
            {
                reflectance.insert(b, (m, a));
            }
            if let Some(f) = kv.get(&format!("FILE_NAME_BAND_{b}")) {
                files.insert(b, f.clone());
            }
        }
        if reflectance.is_empty() {
            return Err("has no REFLECTANCE_MULT_BAND_n / REFLECTANCE_ADD_BAND_n".into());
        }
        Ok(Mtl { sun_elevation, reflectance, files })
    }
}

/// Sentinel-2 radiometric metadata from `MTD_MSIL1C.xml` / `MTD_MSIL2A.xml`.
#[derive(Debug, Clone, PartialEq)]
pub struct S2Metadata {
    /// The metadata file.
    pub file: PathBuf,
    /// `QUANTIFICATION_VALUE` (L1C) or `BOA_QUANTIFICATION_VALUE` (L2A).
    pub quantification: Option<f64>,
    /// `RADIO_ADD_OFFSET` (L1C) or `BOA_ADD_OFFSET` (L2A) per band position (`band_id`).
    pub offsets: BTreeMap<usize, f64>,
    /// True for L2A (bottom-of-atmosphere reflectance).
    pub l2a: bool,
}

/// The contents (and attribute text) of every `<tag ...>content</tag>` in `text`.
fn xml_elements<'a>(text: &'a str, tag: &str) -> Vec<(&'a str, &'a str)> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(&open) {
        let after = &rest[at + open.len()..];
        if !after.starts_with([' ', '>', '\t', '\n']) {
            rest = after;
            continue;
        }
        let Some(gt) = after.find('>') else { break };
        let attrs = &after[..gt];
        let body = &after[gt + 1..];
        let Some(end) = body.find(&close) else { break };
        out.push((attrs, body[..end].trim()));
        rest = &body[end..];
    }
    out
}

impl S2Metadata {
    /// The product metadata file in `dir` or up to four folders above it (a SAFE's root
    /// above `GRANULE/<id>/IMG_DATA[/R10m]`).
    pub fn find(dir: &Path) -> Option<PathBuf> {
        dir.ancestors()
            .take(5)
            .flat_map(|d| ["MTD_MSIL2A.xml", "MTD_MSIL1C.xml"].map(|n| d.join(n)))
            .find(|p| p.is_file())
    }

    /// Parses the metadata text of `file`.
    pub fn parse(file: &Path, text: &str) -> std::result::Result<S2Metadata, String> {
        let l2a = text.contains("BOA_QUANTIFICATION_VALUE");
        let (qtag, otag) = if l2a {
            ("BOA_QUANTIFICATION_VALUE", "BOA_ADD_OFFSET")
        } else {
            ("QUANTIFICATION_VALUE", "RADIO_ADD_OFFSET")
        };
        let quantification = match xml_elements(text, qtag).first() {
            Some((_, v)) => Some(v.parse::<f64>().map_err(|_| format!("{qtag} `{v}` is not a number"))?),
            None => None,
        };
        let mut offsets = BTreeMap::new();
        for (attrs, v) in xml_elements(text, otag) {
            let id = attrs
                .split("band_id=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|&id| id < SENTINEL2_BANDS.len())
                .ok_or_else(|| format!("{otag} without a band_id 0..12: `{attrs}`"))?;
            offsets.insert(id, v.parse::<f64>().map_err(|_| format!("{otag} `{v}` is not a number"))?);
        }
        Ok(S2Metadata { file: file.to_path_buf(), quantification, offsets, l2a })
    }
}

/// A scene ready to read: per band position its file and linear scaling.
#[derive(Debug, Clone)]
pub struct Scene {
    /// The sensor.
    pub sensor: Sensor,
    /// The MTL file or the folder.
    pub source: PathBuf,
    /// Per band position: (scale, add) so that value = scale · DN + add.
    pub scaling: BTreeMap<usize, (f64, f64)>,
    /// What the values are, e.g. `TOA reflectance`.
    pub quantity: String,
    /// Where the scaling came from, for `describe()`.
    pub provenance: String,
    files: Files,
}

#[derive(Debug, Clone)]
enum Files {
    Mtl(Mtl),
    Folder(BandFiles),
}

/// The same error type the callers turn into `Error::input(source, …)`.
type Res<T> = std::result::Result<T, String>;

impl Scene {
    /// Reads the scene's metadata at `path` and works out each band's scaling.
    pub fn open(sensor: Sensor, path: &Path, r: &Radiometry) -> Res<Scene> {
        match sensor {
            Sensor::Landsat8 => {
                let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
                let mtl = Mtl::parse(&text).map_err(|m| format!("not a Landsat MTL file: {m}"))?;
                let sin = mtl.sun_elevation.to_radians().sin();
                let scaling = mtl.reflectance.iter().map(|(&b, &(m, a))| (b - 1, (m / sin, a / sin))).collect();
                Ok(Scene {
                    sensor,
                    source: path.to_path_buf(),
                    scaling,
                    quantity: "TOA reflectance".into(),
                    provenance: format!("REFLECTANCE_MULT/ADD and SUN_ELEVATION {} of the MTL", mtl.sun_elevation),
                    files: Files::Mtl(mtl),
                })
            }
            Sensor::Sentinel2 => {
                let files = folder_band_files(path, sensor)?;
                let mtd = match S2Metadata::find(path) {
                    Some(f) => {
                        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                        Some(S2Metadata::parse(&f, &text).map_err(|m| format!("{}: {m}", f.display()))?)
                    }
                    None => None,
                };
                let (q, q_from) = match (r.quantification, mtd.as_ref().and_then(|m| m.quantification)) {
                    (Some(q), _) => (q, "key `quantification`".to_string()),
                    (None, Some(q)) => (q, mtd.as_ref().map_or(String::new(), |m| m.file.display().to_string())),
                    (None, None) => (10000.0, "default".into()),
                };
                let mut scaling = BTreeMap::new();
                for b in 0..SENTINEL2_BANDS.len() {
                    let off = r.offset.or_else(|| mtd.as_ref().and_then(|m| m.offsets.get(&b).copied())).unwrap_or(0.0);
                    scaling.insert(b, (1.0 / q, off / q));
                }
                let off_from = match (r.offset, &mtd) {
                    (Some(o), _) => format!("offset {o} (key `offset`)"),
                    (None, Some(m)) if !m.offsets.is_empty() => format!("offsets of {}", m.file.display()),
                    _ => "offset 0 (default)".into(),
                };
                let l2a = mtd.as_ref().is_some_and(|m| m.l2a);
                Ok(Scene {
                    sensor,
                    source: path.to_path_buf(),
                    scaling,
                    quantity: if l2a {
                        "BOA reflectance (L2A)".into()
                    } else {
                        "reflectance (TOA for L1C, BOA for L2A)".into()
                    },
                    provenance: format!("(DN + offset) / {q} (quantification from {q_from}), {off_from}"),
                    files: Files::Folder(files),
                })
            }
            Sensor::Aster => {
                let files = folder_band_files(path, sensor)?;
                let mut scaling = BTreeMap::new();
                let factor = match (r.sun_elevation, r.day_of_year) {
                    (Some(elev), Some(doy)) => {
                        let d = earth_sun_distance(doy);
                        Some((elev, d, std::f64::consts::PI * d * d / elev.to_radians().sin()))
                    }
                    (Some(_), None) => {
                        return Err("`sun_elevation` needs `acquisition_date` (for the Earth–Sun distance)".into())
                    }
                    _ => None,
                };
                for b in 0..ASTER_BANDS.len() {
                    let gain = r.gain.get(&b).copied().unwrap_or(AsterGain::Normal);
                    let ucc = ASTER_UCC[b][gain as usize]
                        .ok_or_else(|| format!("band {} has no gain setting `{gain:?}`", ASTER_BANDS[b]))?;
                    // L = (DN − 1) · UCC; ρ = π L d² / (ESUN sin(elevation)).
                    let f = factor.map_or(1.0, |(_, _, k)| k / ASTER_ESUN[b]);
                    scaling.insert(b, (ucc * f, -ucc * f));
                }
                let gains: Vec<String> = r.gain.iter().map(|(b, g)| format!("{} {g:?}", ASTER_BANDS[*b])).collect();
                let gains = if gains.is_empty() {
                    "all normal gain".to_string()
                } else {
                    format!("gains {} (others normal)", gains.join(", "))
                };
                let (quantity, provenance) = match factor {
                    Some((elev, d, _)) => (
                        "TOA reflectance".to_string(),
                        format!("(DN − 1) · UCC, {gains}; π L d² / (ESUN sin {elev}°), d = {d:.6} AU"),
                    ),
                    None => ("TOA radiance, W m⁻² sr⁻¹ µm⁻¹".to_string(), format!("(DN − 1) · UCC, {gains}")),
                };
                Ok(Scene {
                    sensor,
                    source: path.to_path_buf(),
                    scaling,
                    quantity,
                    provenance,
                    files: Files::Folder(files),
                })
            }
        }
    }

    /// The file of band position `b`.
    pub fn band_file(&self, b: usize) -> Res<PathBuf> {
        let name = self.sensor.bands()[b];
        match &self.files {
            Files::Mtl(mtl) => {
                let n = b + 1;
                let dir = self.source.parent().unwrap_or(Path::new("."));
                if let Some(f) = mtl.files.get(&n) {
                    let p = dir.join(f);
                    if p.exists() {
                        return Ok(p);
                    }
                }
                let suffix = format!("_b{n}.tif");
                let found: Vec<PathBuf> = std::fs::read_dir(dir)
                    .map_err(|e| format!("cannot list {}: {e}", dir.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.file_name().is_some_and(|f| f.to_string_lossy().to_lowercase().ends_with(&suffix)))
                    .collect();
                match found.as_slice() {
                    [one] => Ok(one.clone()),
                    [] => Err(format!(
                        "band {name}: neither {:?} nor a file ending in _B{n}.tif is in {}",
                        mtl.files.get(&n),
                        dir.display()
                    )),
                    _ => Err(format!("band {name}: several files end in _B{n}.tif in {}", dir.display())),
                }
            }
            Files::Folder(files) => {
                let mut found = files.get(&b).cloned().unwrap_or_default();
                // Several resolutions of one band (an L2A granule): the finest.
                found.sort_by_key(|(res, _)| res.unwrap_or(0));
                let label = &name[1..];
                match found.as_slice() {
                    [] => Err(format!(
                        "band {name}: no file named *_B{label}, *_B0{label} or *ImageData{label} (.tif, .jp2) in {}",
                        self.source.display()
                    )),
                    [(_, one)] => Ok(one.clone()),
                    [(a, first), (b2, _), ..] if a != b2 => Ok(first.clone()),
                    _ => Err(format!(
                        "band {name}: several files match in {}: {}",
                        self.source.display(),
                        found.iter().map(|f| f.1.display().to_string()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
        }
    }

    /// The band positions that have a scaling (Landsat: those with reflectance in the MTL).
    pub fn available(&self) -> Vec<usize> {
        self.scaling.keys().copied().collect()
    }
}

/// The position of band `name` of `sensor`, for keys that name bands.
pub fn band_of(sensor: Sensor, name: &str) -> Option<usize> {
    band_position(name, sensor.bands())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn band_file_names_of_sentinel2_and_aster() {
        assert!(stem_is_band("t18svg_20160112t160652_b8a", "8a"));
        assert!(stem_is_band("s2_b01", "1"));
        assert!(!stem_is_band("s2_b11", "1"));
        assert!(!stem_is_band("s2_b01", "11"));
        assert!(stem_is_band("b12", "12"));
        assert!(stem_is_band("ast_l1t_00308312003_imagedata3n", "3n"));
        assert!(stem_is_band("scene_b03n", "3n"));
        assert!(!stem_is_band("ast_imagedata3b", "3n"));
        assert!(stem_is_band("ast_imagedata4", "4"));
    }

    #[test]
    fn sentinel2_metadata_quantification_and_offsets() {
        let l1c = r#"<Product_Image_Characteristics>
<QUANTIFICATION_VALUE unit="none">10000</QUANTIFICATION_VALUE>
<Radiometric_Offset_List>
<RADIO_ADD_OFFSET band_id="0">-1000</RADIO_ADD_OFFSET>
<RADIO_ADD_OFFSET band_id="8">-1000</RADIO_ADD_OFFSET>
</Radiometric_Offset_List>"#;
        let m = S2Metadata::parse(Path::new("MTD_MSIL1C.xml"), l1c).unwrap();
        assert_eq!(m.quantification, Some(10000.0));
        assert_eq!(m.offsets, BTreeMap::from([(0, -1000.0), (8, -1000.0)]));
        assert!(!m.l2a);
        let l2a = r#"<QUANTIFICATION_VALUES_LIST><BOA_QUANTIFICATION_VALUE unit="none">10000</BOA_QUANTIFICATION_VALUE>
<AOT_QUANTIFICATION_VALUE unit="none">1000.0</AOT_QUANTIFICATION_VALUE></QUANTIFICATION_VALUES_LIST>
<BOA_ADD_OFFSET_VALUES_LIST><BOA_ADD_OFFSET band_id="12">-1000</BOA_ADD_OFFSET></BOA_ADD_OFFSET_VALUES_LIST>"#;
        let m = S2Metadata::parse(Path::new("MTD_MSIL2A.xml"), l2a).unwrap();
        assert_eq!((m.quantification, m.l2a), (Some(10000.0), true));
        assert_eq!(m.offsets, BTreeMap::from([(12, -1000.0)]));
        let bad =
            S2Metadata::parse(Path::new("x"), "<RADIO_ADD_OFFSET band_id=\"13\">-1000</RADIO_ADD_OFFSET>").unwrap_err();
        assert!(bad.contains("band_id"), "{bad}");
    }

    #[test]
    fn dates_and_earth_sun_distance() {
        assert_eq!(day_of_year("2016-01-12"), Ok(12));
        assert_eq!(day_of_year("2016-03-01"), Ok(61));
        assert_eq!(day_of_year("2015-12-31"), Ok(365));
        assert!(day_of_year("2015-02-29").is_err());
        // Perihelion (early January) about 0.9833 AU, aphelion (early July) about 1.0167 AU.
        assert!((earth_sun_distance(4) - 0.98328).abs() < 1e-9);
        assert!((earth_sun_distance(187) - 1.01671).abs() < 2e-4);
    }
}
