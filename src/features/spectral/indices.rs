//! The named indices of `kind = "spectral"`, per sensor: name, band-math expression on
//! the sensor's band names, and the literature it comes from (listed in docs/config.md).

use super::sensor::Sensor;

/// A named index.
#[derive(Debug, Clone, Copy)]
pub struct Index {
    /// The name used in configs (`index = "..."`).
    pub name: &'static str,
    /// The expression, on the sensor's band names.
    pub expression: &'static str,
    /// Where it comes from.
    pub reference: &'static str,
}

const fn ix(name: &'static str, expression: &'static str, reference: &'static str) -> Index {
    Index { name, expression, reference }
}

/// Landsat 8/9 OLI (B2 blue, B4 red, B5 NIR, B6 SWIR1 1.6 µm, B7 SWIR2 2.2 µm). OLI has
/// one band past 2 µm and no red-edge band: no MgOH/carbonate and no Nd index.
pub const LANDSAT8: &[Index] = &[
    ix("ndvi", "(B5 - B4) / (B5 + B4)", "Rouse et al. (1974), NASA SP-351"),
    ix("ferric_iron", "B4 / B2", "red/blue iron-oxide ratio (TM 3/1), Sabins (1999), Ore Geol. Rev. 14"),
    ix("ferrous_iron", "B6 / B5", "SWIR1/NIR ferrous-iron ratio (TM 5/4), Sabins (1999)"),
    ix("clay", "B6 / B7", "SWIR1/SWIR2 hydroxyl (Al-OH clay) ratio (TM 5/7), Sabins (1999)"),
    ix("gossan", "B6 / B4", "SWIR1/red gossan ratio: ASTER 4/2 of Volesky et al. (2003), Remote Sens. Environ. 84, on the OLI bands of the same wavelengths (TM 5/3)"),
];

/// Sentinel-2 MSI (B2 blue, B3 green, B4 red, B5/B6/B7 red edge 705/740/783 nm, B8 NIR,
/// B8A narrow NIR, B11 SWIR1 1.61 µm, B12 SWIR2 2.19 µm). No band past 2.2 µm: no
/// MgOH/carbonate index.
pub const SENTINEL2: &[Index] = &[
    ix("ndvi", "(B8 - B4) / (B8 + B4)", "Rouse et al. (1974), NASA SP-351, with MSI red B4 and NIR B8"),
    ix("ferric_iron", "B4 / B3", "Fe3+ red/green ratio for MSI, van der Meer et al. (2014), Remote Sens. Environ. 148; Index DataBase (Henrich et al. 2012)"),
    ix("ferrous_iron", "B12 / B8 + B3 / B4", "Fe2+ index for MSI, van der Meer et al. (2014); Index DataBase (Henrich et al. 2012)"),
    ix("ferric_oxides", "B11 / B8", "ferric oxides SWIR1/NIR ratio for MSI, van der Meer et al. (2014); Index DataBase (Henrich et al. 2012)"),
    ix("gossan", "B11 / B4", "SWIR1/red gossan ratio: ASTER 4/2 of Volesky et al. (2003) on the MSI bands of the same wavelengths"),
    ix("clay", "B11 / B12", "SWIR1/SWIR2 hydroxyl (Al-OH clay) ratio (TM 5/7 of Sabins 1999) on MSI B11/B12, van der Meer et al. (2014)"),
    ix(
        "nd_740",
        "1 - 78 * B6 / (43 * B5 + 35 * B7)",
        "depth of the Nd3+ absorption near 740 nm (Boesche et al. 2015, IEEE JSTARS 8; Neave et al. 2016, Econ. Geol. 111): 1 - B6 / continuum, the continuum interpolated linearly between B5 (705 nm) and B7 (783 nm) at 740 nm (band depth of Clark & Roush 1984)",
    ),
];

/// ASTER L1T VNIR/SWIR (B1 green, B2 red, B3N NIR, B4 1.65 µm, B5 2.165, B6 2.205,
/// B7 2.26, B8 2.33, B9 2.395 µm). No Nd index: B3N (760-860 nm) is the NIR plateau,
/// where vegetation dominates any ratio with it.
pub const ASTER: &[Index] = &[
    ix("ndvi", "(B3N - B2) / (B3N + B2)", "Rouse et al. (1974) on ASTER red B2 and NIR B3N"),
    ix("ferric_iron", "B2 / B1", "Fe3+ ratio 2/1 (Rowan & Mars 2003, Remote Sens. Environ. 84); Kalinowski & Oliver (2004), ASTER Mineral Index Processing Manual, Geoscience Australia"),
    ix("ferrous_iron", "B5 / B3N + B1 / B2", "Fe2+ index 5/3 + 1/2, Kalinowski & Oliver (2004) after Rowan (CSIRO)"),
    ix("ferric_oxides", "B4 / B3N", "ferric oxide content 4/3, Cudahy (2012), Satellite ASTER Geoscience Product Notes, CSIRO; Kalinowski & Oliver (2004)"),
    ix("gossan", "B4 / B2", "gossan 4/2, Volesky et al. (2003), Remote Sens. Environ. 84"),
    ix("clay", "(B5 + B7) / B6", "AlOH group content (Al-OH at 2.2 µm: sericite, muscovite, illite, smectite), Cudahy (2012); relative band depth of Rowan & Mars (2003)"),
    ix("mgoh", "(B6 + B9) / (B7 + B8)", "MgOH group content (Mg-OH at 2.33 µm: chlorite, epidote, amphibole, talc), Cudahy (2012); Kalinowski & Oliver (2004)"),
    ix("carbonate", "(B7 + B9) / B8", "carbonate/chlorite/epidote relative band depth at 2.33 µm, Rowan & Mars (2003)"),
];

/// The indices of `sensor`.
pub fn for_sensor(sensor: Sensor) -> &'static [Index] {
    match sensor {
        Sensor::Landsat8 => LANDSAT8,
        Sensor::Sentinel2 => SENTINEL2,
        Sensor::Aster => ASTER,
    }
}

/// The index `name` of `sensor`.
pub fn find(sensor: Sensor, name: &str) -> Option<&'static Index> {
    for_sensor(sensor).iter().find(|x| x.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::spectral::Expr;

    #[test]
    fn every_index_parses_on_its_sensor_and_names_are_unique() {
        for s in [Sensor::Landsat8, Sensor::Sentinel2, Sensor::Aster] {
            for (k, x) in for_sensor(s).iter().enumerate() {
                Expr::parse(x.expression, s.bands()).unwrap_or_else(|e| panic!("{} {}: {e}", s.as_str(), x.name));
                assert!(for_sensor(s)[..k].iter().all(|y| y.name != x.name), "{} twice", x.name);
            }
        }
    }
}
