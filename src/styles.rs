//! QGIS layer styles written beside the outputs, so that dragging `prospectivity.tif`
//! or `targets.gpkg` into QGIS shows them styled at once (QGIS loads a `.qml` with the
//! same base name as the layer automatically).
//!
//! - `prospectivity.qml`: single-band pseudocolour on band 1, an interpolated
//!   perceptually uniform ramp (viridis stops) from 0 to the map's largest value (at
//!   most 1), nodata transparent;
//! - `targets.qml`: polygons graduated by `rank` (1-3 red, 4-10 orange, 11+ yellow,
//!   translucent fill, solid outline), each labelled with its rank.

/// Colour stops (value, hex colour) of the prospectivity ramp: viridis.
pub const RAMP: [(f64, &str); 6] =
    [(0.0, "#440154"), (0.2, "#414487"), (0.4, "#2a788e"), (0.6, "#22a884"), (0.8, "#7ad151"), (1.0, "#fde725")];

/// The QML style of a probability map (band 1, nodata transparent), the ramp from 0 to
/// `max` (1 for maps of values in [0, 1]; a prior-corrected probability map's largest
/// value, so that rare-deposit probabilities are not all drawn in the bottom colour).
pub fn prospectivity_qml(max: f64) -> String {
    let max = if max > 0.0 && max < 1.0 { max } else { 1.0 };
    let items: String = RAMP
        .iter()
        .map(|(v, c)| {
            let v = v * max;
            format!("          <item alpha=\"255\" value=\"{v}\" label=\"{v:.3e}\" color=\"{c}\"/>\n")
        })
        .collect();
    format!(
        r#"<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- written by lode: probability of a deposit, 0 (purple) to 1 (yellow); nodata transparent -->
<qgis version="3.28.0" styleCategories="AllStyleCategories" hasScaleBasedVisibilityFlag="0">
  <pipe>
    <provider>
      <resampling enabled="false" zoomedInResamplingMethod="nearestNeighbour" zoomedOutResamplingMethod="nearestNeighbour" maxOversampling="2"/>
    </provider>
    <rasterrenderer type="singlebandpseudocolor" band="1" opacity="1" alphaBand="-1" classificationMin="0" classificationMax="{max}" nodataColor="">
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
        <colorrampshader colorRampType="INTERPOLATED" classificationMode="1" clip="0" minimumValue="0" maximumValue="{max}" labelPrecision="4">
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
