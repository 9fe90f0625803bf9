//! `lode validate`'s sweep: every problem that can be found without heavy work, all at
//! once, rather than the first. Each part of the config is checked on its own (the grid,
//! the labels, every `[[evidence]]` table: missing files, missing attributes, keys of
//! another kind), then, on a config that loads, the cheap checks of the data: the samples
//! of every `interpolate` layer (values with no logarithm, below-detection text) and the
//! layers that weights of evidence cannot read without `classify`.

use std::path::Path;

use crate::config::{EvidenceKind, RawConfig, Settings};
use crate::error::Error;

/// Every problem found in the config at `config_path` (empty: none found).
pub fn problems(config_path: &Path) -> Vec<Error> {
    match Settings::load(config_path) {
        Ok(settings) => data_problems(&settings),
        Err(first) => {
            let mut found = sweep(config_path);
            if found.is_empty() {
                found.push(first);
            }
            found
        }
    }
}

/// The independent checks of each part of a config that does not load.
fn sweep(config_path: &Path) -> Vec<Error> {
    let Ok(text) = std::fs::read_to_string(config_path) else {
        return Vec::new();
    };
    let Ok(mut raw) = RawConfig::parse(&text, config_path) else {
        return Vec::new();
    };
    let base = config_path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let resolve = |p: &Path| crate::config::resolve_path(&base, p);
    crate::io::init();
    let mut found = Vec::new();
    raw.grid.template = raw.grid.template.as_deref().map(resolve);
    raw.grid.mask = raw.grid.mask.as_deref().map(resolve);
    if let Err(e) = crate::config::build_grid(&raw.grid) {
        found.push(e);
    }
    if let Some(l) = &raw.labels {
        let keys = crate::io::vector::SourceKeys::new("labels", l.x.as_deref(), l.y.as_deref(), l.crs.as_deref());
        let path = resolve(&l.path);
        if let Err(e) =
            crate::io::vector::LayerRef::open_with("labels.path", &path, l.layer.as_deref(), l.filter.as_deref(), &keys)
        {
            found.push(e);
        }
    }
    for (i, ev) in raw.evidence.iter_mut().enumerate() {
        ev.path = resolve(&ev.path);
        if let Err(e) = crate::config::validate_evidence(i, ev, &[]) {
            found.push(e);
        }
    }
    found
}

/// Cheap checks of the data of a config that loads.
fn data_problems(settings: &Settings) -> Vec<Error> {
    let mut found = Vec::new();
    for ev in &settings.evidence {
        if ev.kind == EvidenceKind::Interpolate {
            if let Err(e) = crate::features::prepare(ev, &settings.grid) {
                found.push(e);
            }
        }
        // What the model kind cannot read (weights of evidence: continuous layers).
        found.extend(crate::model::layer_problem(settings, ev));
    }
    found
}
