//! `[output] evidence`: each chosen evidence layer written as it was put on the grid and
//! encoded (after `transform` and `classify`), so a geologist can see in QGIS what the
//! model saw. Streamed window by window, like the maps.
//!
//! - Class layers (`categorical`, `rasterize`, any layer with `classify`):
//!   `evidence/<name>.tif`, Int32 class codes (the codes of `model.json`: a categorical
//!   raster's values, a `rasterize` attribute's integers or its text classes numbered
//!   from 1, the class numbers of `classify`), with a raster attribute table and category
//!   names giving each code's name (the unit name, `unmapped`, the interval `[100, 500)`)
//!   in `evidence/<name>.tif.aux.xml`, and `evidence/<name>.qml`, a paletted style naming
//!   every class. Cells with data whose class is not encoded (a value left out of
//!   `classes`) get the code one below the smallest, named `other`.
//! - Continuous layers: `evidence/<name>.tif`, float32 values, with a pseudocolour
//!   `evidence/<name>.qml` (viridis between the minimum and the maximum). A layer with
//!   several columns (aspect's sine and cosine, kriging with its variance, PCA
//!   components) gives one file per column, named after the column.
//!
//! Cells outside the study area or where the layer has no data are nodata.

use rayon::prelude::*;

use crate::config::{EvidenceSelection, Settings};
use crate::error::{Error, Result};
use crate::features::{Evidence, FeatureStack};
use crate::io::class_map::ClassWriter;
use crate::io::cog::MapWriter;
use crate::output::Staging;
use crate::styles::{esc, RAMP};

/// The folder of the evidence rasters in the output folder.
pub const DIR: &str = "evidence";

/// Indices of the layers `output.evidence` chooses, checked against the config's layers.
pub fn selected(settings: &Settings) -> Result<Vec<usize>> {
    let names: Vec<&str> = settings.evidence.iter().map(|e| e.name.as_str()).collect();
    match &settings.output.evidence {
        EvidenceSelection::All(false) => Ok(Vec::new()),
        EvidenceSelection::All(true) => Ok((0..names.len()).collect()),
        EvidenceSelection::Layers(list) => list
            .iter()
            .map(|n| {
                names.iter().position(|m| m == n).ok_or_else(|| {
                    Error::key(
                        "output.evidence",
                        format!("`{n}` is not an evidence layer (the layers: {})", names.join(", ")),
                    )
                })
            })
            .collect(),
    }
}

/// How one layer is written.
enum Plan {
    /// One class map: the class code of each one-hot column (`None`: the layer is one
    /// column of class numbers), the named classes, and the code of unencoded classes.
    Classes { codes: Option<Vec<i64>>, names: Vec<(i64, String)>, other: i64 },
    /// One float map per column.
    Values { files: Vec<String> },
}

fn plan(layer: &dyn Evidence, columns: &[String]) -> Plan {
    if let Some(codes) = layer.class_codes() {
        let names = layer.class_names().unwrap_or_else(|| codes.iter().map(|c| c.to_string()).collect());
        let named: Vec<(i64, String)> = codes.iter().copied().zip(names).collect();
        let other = codes.iter().copied().min().unwrap_or(0) - 1;
        return Plan::Classes { codes: Some(codes), names: named, other };
    }
    if let Some(named) = layer.value_classes() {
        return Plan::Classes { codes: None, names: named, other: 0 };
    }
    let files = match columns.len() {
        1 => vec![file_stem(layer.name())],
        _ => columns.iter().map(|c| file_stem(c)).collect(),
    };
    Plan::Values { files }
}

/// A file name from a layer or column name: characters other than letters, digits,
/// `_`, `-` and `.` become `_`.
fn file_stem(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "_-.".contains(c) { c } else { '_' }).collect()
}

/// One open output of a layer.
enum Writer {
    Classes { writer: ClassWriter, other_seen: bool },
    Values { writers: Vec<(MapWriter, f32, f32)> },
}

/// Writes the chosen layers into `evidence/` of `out` (COGs, class names, styles).
pub fn write(settings: &Settings, stack: &FeatureStack, out: &mut Staging) -> Result<()> {
    let chosen = selected(settings)?;
    if chosen.is_empty() {
        return Ok(());
    }
    let tags = vec![
        ("LODE_VERSION".to_string(), crate::metrics::VERSION.to_string()),
        ("LODE_PROJECT".to_string(), settings.name.clone()),
        ("LODE_SETTINGS_SHA256".to_string(), settings.settings_sha256.clone()),
    ];
    let grid = &stack.grid;
    let plans: Vec<Plan> =
        chosen.iter().map(|&k| plan(stack.layers[k].as_ref(), &stack.columns[stack.spans[k].clone()])).collect();
    let mut writers = Vec::new();
    for (&k, p) in chosen.iter().zip(&plans) {
        let name = stack.layers[k].name();
        writers.push(match p {
            Plan::Classes { .. } => {
                let scratch = out.scratch(&format!("evidence-{}.tif", file_stem(name)));
                Writer::Classes { writer: ClassWriter::create(&scratch, grid, name, &tags)?, other_seen: false }
            }
            Plan::Values { files } => Writer::Values {
                writers: files
                    .iter()
                    .map(|f| {
                        let w = MapWriter::create(&out.scratch(&format!("evidence-{f}.tif")), grid, f, &tags)?;
                        Ok((w, f32::INFINITY, f32::NEG_INFINITY))
                    })
                    .collect::<Result<_>>()?,
            },
        });
    }
    let windows = grid.windows();
    let chunk = 2 * rayon::current_num_threads().max(1);
    for group in windows.chunks(chunk) {
        let blocks: Vec<_> = group
            .par_iter()
            .map(|w| -> Result<_> {
                let study = grid.mask(w)?;
                let layers = chosen.iter().map(|&k| stack.layers[k].compute(grid, w)).collect::<Result<Vec<_>>>()?;
                Ok((w, study, layers))
            })
            .collect::<Result<_>>()?;
        for (w, study, layers) in blocks {
            for ((block, p), writer) in layers.iter().zip(&plans).zip(writers.iter_mut()) {
                let valid: Vec<bool> = study.iter().zip(&block.valid).map(|(&s, &v)| s && v).collect();
                match (p, writer) {
                    (Plan::Classes { codes, other, .. }, Writer::Classes { writer, other_seen }) => {
                        let cells: Vec<Option<i32>> = (0..w.len())
                            .map(|i| {
                                if !valid[i] {
                                    return None;
                                }
                                let code = match codes {
                                    Some(codes) => codes
                                        .iter()
                                        .enumerate()
                                        .find(|(c, _)| block.values[[i, *c]] == 1.0)
                                        .map(|(_, &c)| c),
                                    None => Some(block.values[[i, 0]] as i64),
                                };
                                *other_seen |= code.is_none();
                                Some(code.unwrap_or(*other) as i32)
                            })
                            .collect();
                        writer.write(w, &cells)?;
                    }
                    (Plan::Values { .. }, Writer::Values { writers }) => {
                        for (c, (mw, lo, hi)) in writers.iter_mut().enumerate() {
                            let values: Vec<f32> = (0..w.len()).map(|i| block.values[[i, c]] as f32).collect();
                            for (v, _) in values.iter().zip(&valid).filter(|(v, &ok)| ok && v.is_finite()) {
                                *lo = lo.min(*v);
                                *hi = hi.max(*v);
                            }
                            mw.write(w, &values, &valid)?;
                        }
                    }
                    _ => unreachable!("one writer per plan, of its kind"),
                }
            }
        }
    }
    for ((&k, p), writer) in chosen.iter().zip(&plans).zip(writers) {
        let name = stack.layers[k].name();
        match (p, writer) {
            (Plan::Classes { names, other, .. }, Writer::Classes { writer, other_seen }) => {
                let mut classes = names.clone();
                if other_seen {
                    classes.push((*other, "other".to_string()));
                }
                codes_fit(name, &classes)?;
                let stem = format!("{DIR}/{}", file_stem(name));
                let tif = out.path(&format!("{stem}.tif"));
                create_folder(&tif)?;
                writer.finish(&tif, settings.output.compression, &classes)?;
                // GDAL wrote the sidecar with the class names beside the COG: publish it too.
                out.path(&format!("{stem}.tif.aux.xml"));
                write_text(&out.path(&format!("{stem}.qml")), &paletted_qml(name, &classes))?;
            }
            (Plan::Values { files }, Writer::Values { writers }) => {
                for (f, (mw, lo, hi)) in files.iter().zip(writers) {
                    let stem = format!("{DIR}/{f}");
                    let tif = out.path(&format!("{stem}.tif"));
                    create_folder(&tif)?;
                    mw.finish(&tif, settings.output.compression)?;
                    write_text(&out.path(&format!("{stem}.qml")), &pseudocolour_qml(f, lo, hi))?;
                }
            }
            _ => unreachable!("one writer per plan, of its kind"),
        }
    }
    Ok(())
}

/// Class codes must fit the Int32 band (and stay clear of its nodata value).
fn codes_fit(name: &str, classes: &[(i64, String)]) -> Result<()> {
    match classes.iter().find(|(c, _)| *c <= i32::MIN as i64 || *c > i32::MAX as i64) {
        Some((c, n)) => Err(Error::key(
            format!("evidence `{name}`"),
            format!("class `{n}` has the code {c}, outside the 32-bit range of the evidence raster"),
        )),
        None => Ok(()),
    }
}

/// Creates the folder of a staged output.
fn create_folder(path: &std::path::Path) -> Result<()> {
    match path.parent() {
        Some(p) => std::fs::create_dir_all(p).map_err(|e| Error::output(p, e)),
        None => Ok(()),
    }
}

fn write_text(path: &std::path::Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::output(path, e))
}

/// Colours of classes, cycled (ColorBrewer Set3 and Paired, 24 distinct); `unmapped`
/// and `other` are grey.
const PALETTE: [&str; 24] = [
    "#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5", "#bc80bd", "#ccebc5",
    "#ffed6f", "#a6cee3", "#1f78b4", "#b2df8a", "#33a02c", "#fb9a99", "#e31a1c", "#fdbf6f", "#ff7f00", "#cab2d6",
    "#6a3d9a", "#ffff99", "#b15928", "#d9d9d9",
];

/// The paletted (unique values) QGIS style of a class map: one entry per class, labelled
/// with its name.
pub fn paletted_qml(name: &str, classes: &[(i64, String)]) -> String {
    let mut entries = String::new();
    let mut i = 0;
    for (code, label) in classes {
        let colour = if label == crate::features::classes::UNMAPPED || label == "other" {
            "#9e9e9e"
        } else {
            i += 1;
            PALETTE[(i - 1) % PALETTE.len()]
        };
        entries += &format!(
            "        <paletteEntry value=\"{code}\" color=\"{colour}\" alpha=\"255\" label=\"{}\"/>\n",
            esc(label)
        );
    }
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- written by lode: evidence layer `{}`, one colour per class, labelled with its name; nodata transparent -->
<qgis version="3.28.0" styleCategories="AllStyleCategories" hasScaleBasedVisibilityFlag="0">
  <pipe>
    <rasterrenderer type="paletted" band="1" opacity="1" alphaBand="-1" nodataColor="">
      <rasterTransparency/>
      <colorPalette>
{entries}      </colorPalette>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0" colorizeStrength="100" colorizeRed="255" colorizeGreen="128" colorizeBlue="128"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
"#,
        esc(name)
    )
}

/// The pseudocolour QGIS style of a continuous layer: viridis from `lo` to `hi`.
pub fn pseudocolour_qml(name: &str, lo: f32, hi: f32) -> String {
    let (lo, hi) = if lo <= hi { (lo as f64, hi as f64) } else { (0.0, 1.0) };
    let items: String = RAMP
        .iter()
        .map(|(t, c)| {
            let v = lo + t * (hi - lo);
            format!(
                "          <item alpha=\"255\" value=\"{v}\" label=\"{}\" color=\"{c}\"/>\n",
                crate::styles::short(v)
            )
        })
        .collect();
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- written by lode: evidence layer `{}`, viridis from its minimum to its maximum; nodata transparent -->
<qgis version="3.28.0" styleCategories="AllStyleCategories" hasScaleBasedVisibilityFlag="0">
  <pipe>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" classificationMin="{lo}" classificationMax="{hi}" nodataColor="">
      <rasterTransparency/>
      <rastershader>
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" minimumValue="{lo}" maximumValue="{hi}" labelPrecision="4">
{items}        </colorrampshader>
      </rastershader>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0" colorizeStrength="100" colorizeRed="255" colorizeGreen="128" colorizeBlue="128"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
"#,
        esc(name)
    )
}
