//! Mineral-system presets: commented starting configs for lithium and rare-earth
//! systems (`data/presets/*.toml`), with the real USGS deposit points they use as labels
//! (`data/deposits-usgs/`), compiled into the binary so `lode init --preset NAME DIR`
//! works from anywhere. Each preset has a README (`data/presets/NAME.md`, written as
//! `DIR/README.md`): which real layers to get, which keys to edit for their attribute
//! names, and how the label filter was chosen. With `--example`, `lode init` also writes
//! a generated example scene under `DIR/evidence/` (smooth random fields and strips of
//! map units on the preset's grid, every file marked synthetic) and sets
//! `project.synthetic = true`, so `lode run` works at once and the report says the map
//! means nothing about the district.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One preset.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// Name given to `lode init --preset`.
    pub name: &'static str,
    /// One line on the mineral system and the example district.
    pub summary: &'static str,
    /// The config template.
    pub toml: &'static str,
    /// The README written beside it.
    pub readme: &'static str,
    /// File name of its labels under `data/deposits-usgs/`.
    pub labels_file: &'static str,
    /// The labels' bytes.
    labels: &'static [u8],
}

const LI: &[u8] = include_bytes!("../data/deposits-usgs/minmod_li_sites_usgs_only.geojson");
const REE: &[u8] = include_bytes!("../data/deposits-usgs/minmod_ree_sites_usgs_only.geojson");
const LABELS_README: &str = include_str!("../data/deposits-usgs/README.md");

/// Every preset.
pub const PRESETS: [Preset; 4] = [
    Preset {
        name: "li-pegmatite",
        summary: "lithium LCT pegmatites (Black Hills, South Dakota; USGS LCT pegmatite sites); \
                  worked example on real data: data/ireland-li/leinster-lct.toml",
        toml: include_str!("../data/presets/li-pegmatite.toml"),
        readme: include_str!("../data/presets/li-pegmatite.md"),
        labels_file: "minmod_li_sites_usgs_only.geojson",
        labels: LI,
    },
    Preset {
        name: "li-brine-clay",
        summary: "lithium brines and clays of closed basins (Nevada; USGS lacustrine brine/clay sites)",
        toml: include_str!("../data/presets/li-brine-clay.toml"),
        readme: include_str!("../data/presets/li-brine-clay.md"),
        labels_file: "minmod_li_sites_usgs_only.geojson",
        labels: LI,
    },
    Preset {
        name: "ree-carbonatite",
        summary: "REE in carbonatites and alkaline complexes (conterminous US; USGS carbonatite REE sites)",
        toml: include_str!("../data/presets/ree-carbonatite.toml"),
        readme: include_str!("../data/presets/ree-carbonatite.md"),
        labels_file: "minmod_ree_sites_usgs_only.geojson",
        labels: REE,
    },
    Preset {
        name: "ree-ion-adsorption",
        summary: "ion-adsorption (regolith-hosted) REE clays (Idaho; USGS ion-adsorption REE sites)",
        toml: include_str!("../data/presets/ree-ion-adsorption.toml"),
        readme: include_str!("../data/presets/ree-ion-adsorption.md"),
        labels_file: "minmod_ree_sites_usgs_only.geojson",
        labels: REE,
    },
];

/// The preset called `name`.
pub fn find(name: &str) -> Result<&'static Preset> {
    PRESETS.iter().find(|p| p.name == name).ok_or_else(|| {
        let names: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
        Error::InvalidArgument {
            name: "preset".into(),
            value: name.into(),
            message: format!("no such preset; presets: {}", names.join(", ")),
        }
    })
}

/// Writes `dir/lode.toml` from the preset, its README and its labels to `dir/deposits/`
/// (with the licence notes); the config's label path is rewritten to that copy. With
/// `example`, also a generated example scene (see the module docs). Refuses to overwrite
/// an existing `lode.toml`. Returns the config's path.
pub fn init(name: &str, dir: &Path, example: bool) -> Result<PathBuf> {
    let preset = find(name)?;
    let config = dir.join("lode.toml");
    if config.exists() {
        return Err(Error::output(&config, "exists already; lode init does not overwrite a config"));
    }
    let deposits = dir.join("deposits");
    std::fs::create_dir_all(&deposits).map_err(|e| Error::output(&deposits, e))?;
    std::fs::create_dir_all(dir.join("evidence")).map_err(|e| Error::output(dir.join("evidence"), e))?;
    let write = |p: PathBuf, bytes: &[u8]| std::fs::write(&p, bytes).map_err(|e| Error::output(&p, e));
    write(deposits.join(preset.labels_file), preset.labels)?;
    write(deposits.join("README.md"), LABELS_README.as_bytes())?;
    write(dir.join("README.md"), preset.readme.as_bytes())?;
    let mut text = preset.toml.replace("\"../deposits-usgs/", "\"deposits/");
    if example {
        text = text.replacen(
            "[project]\n",
            "[project]\n# SYNTHETIC EXAMPLE: the evidence under evidence/ was generated by `lode init --example`;\n\
             # the map means nothing about the district. Replace the files and delete this key.\n\
             synthetic = true\n",
            1,
        );
    }
    write(config.clone(), text.as_bytes())?;
    if example {
        write_example(&config)?;
    }
    Ok(config)
}

/// The generated example's note, in `evidence/SYNTHETIC.md` and in each file's metadata.
pub const SYNTHETIC_NOTE: &str = "SYNTHETIC: generated by `lode init --example`, not real data";

/// Map units of the example's polygon layers (strips across the grid), with the values
/// the presets filter and burn on.
const UNITS: [(&str, &str, &str, i64); 5] = [
    ("unit0", "granite", "rift", 0),
    ("unit1", "rhyolite tuff", "thrust", 1),
    ("unit2", "carbonatite", "rift", 0),
    ("unit3", "syenite", "thrust", 1),
    ("unit4", "schist", "rift", 0),
];

/// Writes the example evidence every `[[evidence]]` of the config at `config` names:
/// rasters as smooth random fields (a sum of seeded waves, Float32 GeoTIFF on the grid),
/// vector files as GeoPackages of map-unit strips with the fields `unit`, `lithology`,
/// `type`, `closed`, `class`, `synthetic`. Returns how many files it wrote.
pub fn write_example(config: &Path) -> Result<usize> {
    use rand::{Rng, SeedableRng};
    let text = std::fs::read_to_string(config).map_err(|e| Error::input(config, e))?;
    let raw = crate::config::RawConfig::parse(&text, config)?;
    let base = config.parent().unwrap_or(Path::new("."));
    let grid = crate::config::build_grid(&raw.grid)?;
    let [x0, y0, x1, y1] = grid.bounds();
    let (w, h) = (x1 - x0, y1 - y0);
    let mut done: Vec<PathBuf> = Vec::new();
    for (k, ev) in raw.evidence.iter().enumerate() {
        let path = base.join(&ev.path);
        if done.contains(&path) {
            continue;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, e))?;
        }
        let is_raster =
            matches!(ev.kind, crate::config::EvidenceKind::Raster | crate::config::EvidenceKind::Categorical);
        if is_raster {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(raw.project.seed ^ (k as u64 + 1));
            let waves: Vec<(f64, f64, f64, f64)> = (0..6)
                .map(|_| {
                    let len = rng.gen_range(0.1..0.5) * w.max(h);
                    let angle: f64 = rng.gen_range(0.0..std::f64::consts::PI);
                    (
                        angle.cos() / len,
                        angle.sin() / len,
                        rng.gen_range(0.0..std::f64::consts::TAU),
                        rng.gen_range(0.5..1.0),
                    )
                })
                .collect();
            let tags = vec![("LODE_SYNTHETIC".to_string(), SYNTHETIC_NOTE.to_string())];
            let scratch = path.with_extension("partial.tif");
            let mut writer =
                crate::io::cog::MapWriter::create(&scratch, &grid, &format!("{} ({SYNTHETIC_NOTE})", ev.name), &tags)?;
            for win in grid.windows() {
                let values: Vec<f32> = (0..win.len())
                    .map(|i| {
                        let (x, y) = grid.centre(win.cell(i));
                        let z: f64 = waves
                            .iter()
                            .map(|(a, b, p, m)| m * (std::f64::consts::TAU * (a * x + b * y) + p).sin())
                            .sum();
                        (0.5 + z / 8.0) as f32
                    })
                    .collect();
                writer.write(&win, &values, &vec![true; win.len()])?;
            }
            writer.finish(&path, crate::config::Compression::Deflate)?;
        } else {
            use crate::io::polygons::{FieldKind, FieldValue};
            let fields = [
                ("unit", FieldKind::Text),
                ("lithology", FieldKind::Text),
                ("type", FieldKind::Text),
                ("closed", FieldKind::Int),
                ("class", FieldKind::Int),
                ("synthetic", FieldKind::Text),
            ];
            let n = UNITS.len() as f64;
            let polygons: Vec<geo::Polygon<f64>> = (0..UNITS.len())
                .map(|i| {
                    let (a, b) = (x0 + w * i as f64 / n, x0 + w * (i + 1) as f64 / n);
                    geo::Polygon::new(vec![(a, y0), (b, y0), (b, y1), (a, y1), (a, y0)].into(), vec![])
                })
                .collect();
            let rows: Vec<Vec<FieldValue>> = UNITS
                .iter()
                .enumerate()
                .map(|(i, (unit, lith, kind, closed))| {
                    vec![
                        FieldValue::Text(unit.to_string()),
                        FieldValue::Text(lith.to_string()),
                        FieldValue::Text(kind.to_string()),
                        FieldValue::Int(*closed),
                        FieldValue::Int(i as i64 + 1),
                        FieldValue::Text(SYNTHETIC_NOTE.to_string()),
                    ]
                })
                .collect();
            let layer = ev
                .vector
                .layer
                .clone()
                .unwrap_or_else(|| path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default());
            crate::io::polygons::write_polygons(
                &path,
                crate::io::polygons::VectorFormat::GeoPackage,
                &layer,
                &grid.crs_wkt,
                &fields,
                &polygons,
                &rows,
            )?;
        }
        done.push(path);
    }
    let note = base.join("evidence/SYNTHETIC.md");
    std::fs::write(
        &note,
        format!(
            "# {SYNTHETIC_NOTE}\n\nEvery file in this folder was generated by `lode init --example` so that \
             `lode run` works at once: smooth random fields and strips of made-up map units on the preset's grid. \
             They say nothing about the district. Replace them with the real layers named in ../README.md and \
             remove `synthetic = true` from lode.toml.\n"
        ),
    )
    .map_err(|e| Error::output(&note, e))?;
    Ok(done.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_with_known_keys() {
        for p in PRESETS {
            let raw = crate::config::RawConfig::parse(p.toml, Path::new(p.name)).unwrap();
            let labels = raw.labels.as_ref().expect("a preset has labels");
            assert!(labels.filter.is_some(), "{}: labels need a where filter", p.name);
            assert!(labels.path.ends_with(p.labels_file), "{}", p.name);
            assert!(p.toml.contains("\"../deposits-usgs/"), "{}: init rewrites this path", p.name);
        }
    }

    #[test]
    fn unknown_preset_lists_the_names() {
        let e = find("li-pegmatit").unwrap_err().to_string();
        assert!(e.contains("li-pegmatite") && e.contains("ree-ion-adsorption"), "{e}");
    }
}
