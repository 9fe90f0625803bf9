//! QGIS layer styles written beside the outputs, so that dragging `prospectivity.tif`
//! or `targets.gpkg` into QGIS shows them styled at once (QGIS loads a `.qml` with the
//! same base name as the layer automatically).
//!
//! - `prospectivity.qml`: single-band pseudocolour on band 1, discrete classes **by area**:
//!   the best 1 %, 1-5 %, 5-10 %, 10-20 %, 20-50 % and the rest of the scored area (the
//!   convention of prospectivity maps: a class is a share of the ground, not a fixed
//!   probability, so a map scoring 0-0.1 is as readable as one scoring 0-1). The class
//!   limits are the exact thresholds of [`crate::targets::top_areas`] (a cell is in the
//!   best X % when it scores `>=` the k-th largest value, `k = ceil(scored * X / 100)`),
//!   the same the quicklook and the report use; colours are viridis stops, nodata transparent;
//! - `uncertainty.qml`: the uncertainty map (`uncertainty.tif` or `posterior_std.tif`),
//!   white (0) to dark magenta at the value only 1 % of the scored cells exceed;
//! - `targets.qml`: polygons graduated by `rank` (1-3 red, 4-10 orange, 11+ yellow,
//!   translucent fill, solid outline), each labelled with its rank.

/// Colour stops (value, hex colour) of the prospectivity ramp: viridis.
pub const RAMP: [(f64, &str); 6] =
    [(0.0, "#440154"), (0.2, "#414487"), (0.4, "#2a788e"), (0.6, "#22a884"), (0.8, "#7ad151"), (1.0, "#fde725")];

/// The area classes of the map: the best `AREA_PERCENTS` % of the scored area.
pub const AREA_PERCENTS: [f64; 5] = [1.0, 5.0, 10.0, 20.0, 50.0];

/// Colours of the area classes, best first, then the rest of the area (viridis stops).
pub const CLASS_COLOURS: [&str; 6] = ["#fde725", "#7ad151", "#22a884", "#2a788e", "#414487", "#440154"];

/// The classes of a map by area (see the module docs).
#[derive(Debug, Clone, serde::Serialize)]
pub struct AreaClasses {
    /// One per [`AREA_PERCENTS`], best first.
    pub areas: Vec<crate::targets::TopArea>,
    /// Scored cells.
    pub scored_cells: u64,
}

impl AreaClasses {
    /// The classes of the map at `map` on `grid` (two streamed passes).
    pub fn of_map(map: &crate::io::cog::MapRaster, grid: &crate::grid::Grid) -> crate::error::Result<AreaClasses> {
        let (areas, scored_cells) = crate::targets::top_areas(map, grid, &AREA_PERCENTS)?;
        Ok(AreaClasses { areas, scored_cells })
    }

    /// The class index of a value (0: best 1 %, ..., `AREA_PERCENTS.len()`: the rest).
    pub fn class_of(&self, v: f32) -> usize {
        self.areas.iter().position(|a| v >= a.threshold).unwrap_or(self.areas.len())
    }

    /// Legend labels, best first: `best 1 % (>= 0.2612)`, ..., `rest`.
    pub fn labels(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut prev = 0.0;
        for a in &self.areas {
            let range =
                if prev == 0.0 { format!("best {} %", a.top_percent) } else { format!("{prev}-{} %", a.top_percent) };
            out.push(format!("{range} (>= {})", short(a.threshold as f64)));
            prev = a.top_percent;
        }
        out.push(format!("rest (< {})", self.areas.last().map_or("?".to_string(), |a| short(a.threshold as f64))));
        out
    }
}

/// `s` escaped for XML and HTML text and attribute values.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A threshold with 3 significant digits.
pub fn short(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    format!("{v:.digits$}")
}

/// The QML style of the map: discrete classes by area (band 1, nodata transparent).
pub fn prospectivity_qml(classes: &AreaClasses) -> String {
    let labels = classes.labels();
    let n = classes.areas.len();
    // QGIS's DISCRETE shader gives an item's colour to values <= its value (and above the
    // previous item's): class i holds values from its threshold up to below the next
    // better class's threshold, so each item's value is the largest float32 below the
    // threshold of the class above it, written exactly as a double.
    let mut items = String::new();
    for i in (0..=n).rev() {
        let value =
            if i == 0 { "inf".to_string() } else { format!("{}", classes.areas[i - 1].threshold.next_down() as f64) };
        items += &format!(
            "          <item alpha=\"255\" value=\"{value}\" label=\"{}\" color=\"{}\"/>\n",
            esc(&labels[i]),
            CLASS_COLOURS[i]
        );
    }
    let min = 0.0;
    let max = classes.areas.first().map_or(1.0, |a| a.threshold as f64);
    shader_qml(
        "probability of a deposit in classes by area: the best 1, 5, 10, 20, 50 % of the scored area (yellow) to the rest (purple); nodata transparent",
        "DISCRETE",
        min,
        max,
        &items,
    )
}

/// The QML style of an uncertainty map: white at 0 to dark magenta at `max` (the value
/// only 1 % of the scored cells exceed), larger values clipped to the last colour.
pub fn uncertainty_qml(max: f64) -> String {
    let max = if max > 0.0 { max } else { 1.0 };
    let items: String = UNCERTAINTY_RAMP
        .iter()
        .map(|(t, c)| {
            let v = t * max;
            format!("          <item alpha=\"255\" value=\"{v}\" label=\"{}\" color=\"{c}\"/>\n", short(v))
        })
        .collect();
    shader_qml(
        "uncertainty (standard deviation of the probability): white (0) to dark magenta (the top 1 % of the scored cells); nodata transparent",
        "INTERPOLATED",
        0.0,
        max,
        &items,
    )
}

/// Colour stops (fraction of the maximum, hex colour) of the uncertainty ramp.
pub const UNCERTAINTY_RAMP: [(f64, &str); 4] =
    [(0.0, "#ffffff"), (0.33, "#fcc5c0"), (0.66, "#dd3497"), (1.0, "#49006a")];

fn shader_qml(comment: &str, ramp_type: &str, min: f64, max: f64, items: &str) -> String {
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- written by lode: {comment} -->
<qgis version="3.28.0" styleCategories="AllStyleCategories" hasScaleBasedVisibilityFlag="0">
  <pipe>
    <provider>
      <resampling enabled="false" zoomedInResamplingMethod="nearestNeighbour" zoomedOutResamplingMethod="nearestNeighbour" maxOversampling="2"/>
    </provider>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" classificationMin="{min}" classificationMax="{max}" nodataColor="">
      <rasterTransparency/>
      <minMaxOrigin>
        <limits>None</limits>
        <extent>WholeRaster</extent>
        <statAccuracy>Estimated</statAccuracy>
        <cumulativeCutLower>0.02</cumulativeCutLower>
        <cumulativeCutUpper>0.98</cumulativeCutUpper>
        <stdDevFactor>2</stdDevFactor>
      </minMaxOrigin>
      <rastershader>
        <colorrampshader colorRampType="{ramp_type}" classificationMode="1" clip="0" minimumValue="{min}" maximumValue="{max}" labelPrecision="4">
{items}        </colorrampshader>
      </rastershader>
    </rasterrenderer>
    <brightnesscontrast brightness="0" contrast="0" gamma="1"/>
    <huesaturation saturation="0" grayscaleMode="0" colorizeOn="0" colorizeStrength="100" colorizeRed="255" colorizeGreen="128" colorizeBlue="128"/>
    <rasterresampler maxOversampling="2"/>
  </pipe>
  <blendMode>0</blendMode>
</qgis>
"#
    )
}

/// Rank classes of the targets style: (lowest rank, highest rank, fill RGB, label).
pub const RANK_CLASSES: [(u32, u32, &str, &str); 3] =
    [(1, 3, "215,25,28", "rank 1-3"), (4, 10, "253,174,97", "rank 4-10"), (11, 1_000_000, "255,255,153", "rank 11+")];

/// The QML style of `targets.gpkg`: graduated by `rank`, labelled with the rank.
pub fn targets_qml() -> String {
    let ranges: String = RANK_CLASSES
        .iter()
        .enumerate()
        .map(|(i, (lo, hi, _, label))| {
            format!(
                "      <range lower=\"{}\" upper=\"{}\" symbol=\"{i}\" label=\"{label}\" render=\"true\"/>\n",
                *lo as f64 - 0.5,
                *hi as f64 + 0.5
            )
        })
        .collect();
    let symbols: String = RANK_CLASSES
        .iter()
        .enumerate()
        .map(|(i, (_, _, rgb, _))| {
            format!(
                r#"      <symbol type="fill" name="{i}" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <Option type="Map">
            <Option name="color" type="QString" value="{rgb},90"/>
            <Option name="outline_color" type="QString" value="{rgb},255"/>
            <Option name="outline_style" type="QString" value="solid"/>
            <Option name="outline_width" type="QString" value="0.6"/>
            <Option name="outline_width_unit" type="QString" value="MM"/>
            <Option name="style" type="QString" value="solid"/>
          </Option>
        </layer>
      </symbol>
"#
            )
        })
        .collect();
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- written by lode: target areas graduated by rank, labelled with their rank -->
<qgis version="3.28.0" styleCategories="Symbology|Labeling|Fields" labelsEnabled="1">
  <renderer-v2 type="graduatedSymbol" attr="rank" graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0">
    <ranges>
{ranges}    </ranges>
    <symbols>
{symbols}    </symbols>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="rank" isExpression="0" fontSize="10" fontSizeUnit="Point" fontWeight="75" textColor="0,0,0,255" textOpacity="1" namedStyle="Bold">
        <text-buffer bufferDraw="1" bufferSize="1" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="1"/>
      </text-style>
      <placement placement="0" dist="0" priority="5" centroidInside="1" centroidWhole="0"/>
      <rendering scaleVisibility="0" obstacle="1"/>
    </settings>
  </labeling>
  <blendMode>0</blendMode>
  <featureBlendMode>0</featureBlendMode>
  <layerOpacity>1</layerOpacity>
  <displayfield>rank</displayfield>
</qgis>
"#
    )
}
