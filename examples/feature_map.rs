//! Writes one evidence layer of a config as a GeoTIFF (first column), computed window by
//! window in parallel (each chunk of windows is written while the next is computed): for
//! inspecting a layer, and for `benches/evidence.sh`, which times it against GDAL's tools.
//!
//! `cargo run --release --example feature_map -- CONFIG LAYER OUT.tif`

use std::path::PathBuf;

use rayon::prelude::*;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, config, layer, out] = args.as_slice() else {
        anyhow::bail!("usage: feature_map CONFIG LAYER OUT.tif");
    };
    let mut settings = lode::Settings::load(&PathBuf::from(config))?;
    settings.evidence.retain(|e| &e.name == layer);
    anyhow::ensure!(!settings.evidence.is_empty(), "no evidence layer named `{layer}`");
    let t0 = std::time::Instant::now();
    let stack = lode::features::FeatureStack::prepare(&settings)?;
    eprintln!("prepare: {:.3} s", t0.elapsed().as_secs_f64());
    let grid = &stack.grid;
    let mut writer = lode::io::cog::MapWriter::create(&PathBuf::from(out), grid, layer, &[])?;
    let windows = grid.windows();
    // Writes one chunk of blocks (on one thread) while the next chunk is computed.
    let write =
        |writer: &mut lode::io::cog::MapWriter, blocks: Vec<lode::features::FeatureBlock>| -> anyhow::Result<()> {
            for b in blocks {
                let values: Vec<f32> = b.values.column(0).iter().map(|&v| v as f32).collect();
                let valid: Vec<bool> = (0..b.window.len()).map(|i| b.layer_valid[[i, 0]]).collect();
                writer.write(&b.window, &values, &valid)?;
            }
            Ok(())
        };
    let mut pending = Vec::new();
    for chunk in windows.chunks(16) {
        let done = std::mem::take(&mut pending);
        let (blocks, written) = rayon::join(
            || chunk.par_iter().map(|w| stack.compute(w)).collect::<Result<Vec<_>, _>>(),
            || write(&mut writer, done),
        );
        written?;
        pending = blocks?;
    }
    write(&mut writer, pending)?;
    drop(writer);
    eprintln!("total: {:.3} s", t0.elapsed().as_secs_f64());
    Ok(())
}
