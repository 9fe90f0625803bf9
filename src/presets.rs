//! Mineral-system presets: commented starting configs for lithium and rare-earth
//! systems (`data/presets/*.toml`), with the real USGS deposit points they use as labels
//! (`data/deposits-usgs/`), compiled into the binary so `lode init --preset NAME DIR`
//! works from anywhere.

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
        labels_file: "minmod_li_sites_usgs_only.geojson",
        labels: LI,
    },
    Preset {
        name: "li-brine-clay",
        summary: "lithium brines and clays of closed basins (Nevada; USGS lacustrine brine/clay sites)",
        toml: include_str!("../data/presets/li-brine-clay.toml"),
        labels_file: "minmod_li_sites_usgs_only.geojson",
        labels: LI,
    },
    Preset {
        name: "ree-carbonatite",
        summary: "REE in carbonatites and alkaline complexes (conterminous US; USGS carbonatite REE sites)",
        toml: include_str!("../data/presets/ree-carbonatite.toml"),
        labels_file: "minmod_ree_sites_usgs_only.geojson",
        labels: REE,
    },
    Preset {
        name: "ree-ion-adsorption",
        summary: "ion-adsorption (regolith-hosted) REE clays (Idaho; USGS ion-adsorption REE sites)",
        toml: include_str!("../data/presets/ree-ion-adsorption.toml"),
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

/// Writes `dir/lode.toml` from the preset and its labels to `dir/deposits/` (with the
/// licence notes); the config's label path is rewritten to that copy. Refuses to
/// overwrite an existing `lode.toml`. Returns the config's path.
pub fn init(name: &str, dir: &Path) -> Result<PathBuf> {
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
    let text = preset.toml.replace("\"../deposits-usgs/", "\"deposits/");
    write(config.clone(), text.as_bytes())?;
    Ok(config)
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
