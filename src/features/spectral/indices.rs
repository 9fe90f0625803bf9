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

/// Landsat 8/9 OLI (B2 blue, B4 red, B5 NIR, B6 SWIR1 1.6 µm, B7 SWIR2 2.2 µm).
pub const LANDSAT8: &[Index] = &[
    ix("ndvi", "(B5 - B4) / (B5 + B4)", "Rouse et al. (1974), NASA SP-351"),
    ix("ferric_iron", "B4 / B2", "red/blue iron-oxide ratio (TM 3/1), Sabins (1999), Ore Geol. Rev. 14"),
    ix("ferrous_iron", "B6 / B5", "SWIR1/NIR ferrous-iron ratio (TM 5/4), Sabins (1999)"),
    ix("clay", "B6 / B7", "SWIR1/SWIR2 hydroxyl (Al-OH clay) ratio (TM 5/7), Sabins (1999)"),
];

/// Sentinel-2 MSI (B2 blue, B3 green, B4 red, B8 NIR 10 m, B8A narrow NIR, B11 SWIR1
/// 1.61 µm, B12 SWIR2 2.19 µm).
pub const SENTINEL2: &[Index] = &[
    ix("ndvi", "(B8 - B4) / (B8 + B4)", "Rouse et al. (1974), NASA SP-351, with MSI red B4 and NIR B8"),
    ix("ferric_iron", "B4 / B3", "Fe3+ red/green ratio for MSI, van der Meer et al. (2014), Remote Sens. Environ. 148; Index DataBase (Henrich et al. 2012)"),
    ix("ferrous_iron", "B12 / B8 + B3 / B4", "Fe2+ index for MSI, van der Meer et al. (2014); Index DataBase (Henrich et al. 2012)"),
    ix("clay", "B11 / B12", "SWIR1/SWIR2 hydroxyl (Al-OH clay) ratio (TM 5/7 of Sabins 1999) on MSI B11/B12, van der Meer et al. (2014)"),
];

/// ASTER L1T VNIR/SWIR.
pub const ASTER: &[Index] = &[];

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
