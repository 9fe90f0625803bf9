//! Class names as geologists write them: `classes = ["Granite", 17306]` (text or integer
//! classes, on `rasterize` and `categorical`), `class_names = { "17306" = "Quartzite" }`
//! (a name per integer class of a `categorical` raster), and `unmapped = "class" |
//! "nodata"` (what a `rasterize` layer gives study-area cells outside every polygon).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One class named in `classes`: an integer code or a text name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum ClassName {
    /// An integer class.
    Code(i64),
    /// A text class (a unit name).
    Text(String),
}

impl std::fmt::Display for ClassName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClassName::Code(c) => write!(f, "{c}"),
            ClassName::Text(t) => write!(f, "{t}"),
        }
    }
}

/// What a `rasterize` layer gives study-area cells that no polygon covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Unmapped {
    /// A class of their own, named [`UNMAPPED`] (with a warning of how many cells).
    #[default]
    Class,
    /// No data: the cells are left out of training and of the map.
    Nodata,
}

/// The name of the class of unmapped ground.
pub const UNMAPPED: &str = "unmapped";

/// Default `max_classes`.
pub fn default_max_classes() -> usize {
    256
}

/// Checks `classes` (at least one, when given) and `max_classes` of a class kind's table.
pub fn check_class_keys(
    cx: &crate::features::spec::Check<'_>,
    classes: Option<&[ClassName]>,
    max_classes: usize,
) -> crate::error::Result<()> {
    use crate::error::Error;
    if classes.is_some_and(|c| c.is_empty()) {
        return Err(Error::key(cx.key("classes"), "lists no class"));
    }
    if max_classes == 0 || max_classes > crate::grid::MAX_CLASSES {
        return Err(Error::key(
            cx.key("max_classes"),
            format!("{max_classes} is outside 1..={} (each class is a feature column)", crate::grid::MAX_CLASSES),
        ));
    }
    Ok(())
}

/// The integer codes of `classes` on a `categorical` raster: integers as given, names
/// looked up in `class_names` (name -> code). Errors name the class that has no code.
pub fn categorical_codes(
    classes: &[ClassName],
    class_names: Option<&BTreeMap<String, String>>,
) -> std::result::Result<Vec<i64>, String> {
    classes
        .iter()
        .map(|c| match c {
            ClassName::Code(v) => Ok(*v),
            ClassName::Text(t) => {
                let found = class_names.and_then(|m| m.iter().find(|(_, name)| *name == t)).map(|(code, _)| code);
                match found {
                    Some(code) => code.parse::<i64>().map_err(|_| format!("class_names key `{code}` is not an integer")),
                    None => Err(format!(
                        "`{t}` is a name, but no `class_names` entry gives it a code (e.g. class_names = {{ \"17306\" = \"{t}\" }})"
                    )),
                }
            }
        })
        .collect()
}

/// The codes of a `class_names` table, checked to be integers.
pub fn parse_class_names(table: &BTreeMap<String, String>) -> std::result::Result<BTreeMap<i64, String>, String> {
    table
        .iter()
        .map(|(k, v)| {
            k.trim().parse::<i64>().map(|c| (c, v.clone())).map_err(|_| format!("key `{k}` is not an integer class"))
        })
        .collect()
}

/// The codes of `classes` (codes or names) on the prepared `layer`: a code as given, a
/// name looked up among the layer's class names (one-hot layers: the unit name, a
/// `class_names` entry or `unmapped`; classified layers: the interval `[100, 500)`).
/// Errors name the class that is not one of the layer's and list the layer's classes.
pub fn resolve_codes(
    layer: &dyn crate::features::Evidence,
    classes: &[ClassName],
) -> std::result::Result<Vec<i64>, String> {
    let named: Vec<(i64, String)> = match (layer.class_codes(), layer.class_names()) {
        (Some(codes), Some(names)) => codes.into_iter().zip(names).collect(),
        _ => layer.value_classes().unwrap_or_default(),
    };
    classes
        .iter()
        .map(|c| match c {
            ClassName::Code(v) => Ok(*v),
            ClassName::Text(t) => named.iter().find(|(_, n)| n == t).map(|(code, _)| *code).ok_or_else(|| match named
                .is_empty()
            {
                true => format!("`{t}` is a name, but layer `{}` has no named classes: give class codes", layer.name()),
                false => format!(
                    "`{t}` is not a class of layer `{}` (its classes: {})",
                    layer.name(),
                    named.iter().map(|(_, n)| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ),
            }),
        })
        .collect()
}

/// A feature column name `layer=class`.
pub fn column(layer: &str, class: &str) -> String {
    format!("{layer}={class}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_take_their_codes_from_the_table_and_an_unknown_name_is_refused() {
        let table: BTreeMap<String, String> = [("17306".to_string(), "Quartzite".to_string())].into();
        let classes = vec![ClassName::Text("Quartzite".into()), ClassName::Code(5)];
        assert_eq!(categorical_codes(&classes, Some(&table)).unwrap(), vec![17306, 5]);
        let err = categorical_codes(&[ClassName::Text("Granite".into())], Some(&table)).unwrap_err();
        assert!(err.contains("`Granite`") && err.contains("class_names"), "{err}");
        let parsed: Vec<ClassName> =
            toml::from_str::<BTreeMap<String, Vec<ClassName>>>("c = [\"Granite\", 3]").unwrap()["c"].clone();
        assert_eq!(parsed, vec![ClassName::Text("Granite".into()), ClassName::Code(3)]);
    }

    /// A layer with named one-hot classes, or classified into intervals.
    #[derive(Debug)]
    struct Named(bool);

    impl crate::features::Evidence for Named {
        fn name(&self) -> &str {
            "lith"
        }
        fn compute(
            &self,
            _: &crate::grid::Grid,
            _: &crate::grid::Window,
        ) -> crate::error::Result<crate::features::LayerBlock> {
            unreachable!("only its classes are read")
        }
        fn describe(&self) -> String {
            String::new()
        }
        fn class_codes(&self) -> Option<Vec<i64>> {
            self.0.then(|| vec![1, 2, 3])
        }
        fn class_names(&self) -> Option<Vec<String>> {
            self.0.then(|| vec!["Granite".into(), "Quartzite".into(), UNMAPPED.into()])
        }
        fn value_classes(&self) -> Option<Vec<(i64, String)>> {
            (!self.0).then(|| crate::features::transform::interval_names(&[500.0, 2000.0]))
        }
    }

    #[test]
    fn wofe_classes_resolve_unit_names_and_classify_intervals_and_refuse_other_names() {
        let names = |v: &[&str]| v.iter().map(|t| ClassName::Text(t.to_string())).collect::<Vec<_>>();
        assert_eq!(resolve_codes(&Named(true), &names(&["Quartzite", "unmapped"])).unwrap(), vec![2, 3]);
        assert_eq!(resolve_codes(&Named(true), &[ClassName::Code(7)]).unwrap(), vec![7]);
        assert_eq!(resolve_codes(&Named(false), &names(&["[500, 2000)"])).unwrap(), vec![2]);
        let err = resolve_codes(&Named(true), &names(&["Basalt"])).unwrap_err();
        assert!(err.contains("`Basalt` is not a class of layer `lith`") && err.contains("`Quartzite`"), "{err}");
    }
}
