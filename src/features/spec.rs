//! What an `[[evidence]]` table says and how it is checked, declared once for every kind.
//!
//! A table is its name, kind and path, the shared keys of the groups its kind belongs to
//! ([`Common`] on every kind, [`RasterKeys`] on raster inputs, [`VectorKeys`] on vector
//! inputs, [`TransformKeys`] on continuous layers) and the keys its kind owns: the kind's
//! `Raw` type in its own file (`features::focal::Raw`...), which implements [`Kind`].
//! [`RawEvidence`] parses a table by routing each key to the one type that declares it,
//! so a mistyped key, or a key of another kind, is refused with its line; the kind list is
//! the registry in `features/mod.rs`. `validate_evidence` opens the input and checks
//! every key before any heavy work, into [`EvidenceSettings`]: the only thing the features
//! read (never `config` nor the table as written), so the modules form no circle.
//! `config` re-exports every public item here under its old path (`config::RawEvidence`...).

use std::path::PathBuf;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::features::scan::{Pass, Prepared};
use crate::features::Evidence;
use crate::grid::Grid;
use crate::io;
use crate::io::Resampling;

pub use crate::features::{EvidenceKind, KindKeys, KindParams};

/// What a kind's `path` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A raster band (`band`, `resampling`).
    Raster,
    /// A vector layer or a point table (`layer`, `where`, `x`, `y`, `crs`, `attribute`).
    Vector,
    /// A satellite scene: its metadata file or the folder of its bands.
    Scene,
}

/// One evidence kind: the keys it owns as written (the implementing type, one `Raw` per
/// kind file), checked once into [`Kind::Params`], and the layer prepared from them.
pub trait Kind: Sized + Clone + std::fmt::Debug + Serialize + DeserializeOwned {
    /// The keys validated: all that [`Kind::prepare`] reads of them.
    type Params: Clone + std::fmt::Debug + Send + Sync;
    /// What `path` names.
    const INPUT: Input;
    /// The layer is one-hot classes, one column per class (no transform or classify).
    const CLASSES: bool = false;
    /// Checks the keys (no heavy work: `lode validate` runs it), with the table's shared
    /// keys and its opened input at hand in `cx`.
    fn check(&self, cx: &Check<'_>) -> Result<Self::Params>;
    /// Prepares the layer, its grid-wide passes as `pass` gives them.
    fn prepare(
        params: &Self::Params,
        settings: &EvidenceSettings,
        grid: &Grid,
        pass: Pass,
    ) -> Result<Prepared<Box<dyn Evidence>>>;
}

/// What a kind's [`Kind::check`] sees besides its own keys.
#[derive(Debug)]
pub struct Check<'a> {
    /// The table's position among the `[[evidence]]` tables.
    pub index: usize,
    /// The whole table (name, path and the shared keys).
    pub table: &'a RawEvidence,
    /// Its input, opened.
    pub input: &'a EvidenceInput,
}

impl Check<'_> {
    /// The config key `evidence[i].k`, for errors.
    pub fn key(&self, k: &str) -> String {
        format!("evidence[{}].{k}", self.index)
    }

    /// The vector layer of a vector kind.
    pub fn layer(&self) -> Option<&io::vector::LayerRef> {
        match self.input {
            EvidenceInput::Vector(l) => Some(l),
            _ => None,
        }
    }

    /// The `attribute` a kind cannot do without, checked to be a field of its layer;
    /// `need` says what it is for.
    pub fn required_attribute(&self, need: &str) -> Result<String> {
        let kind = self.table.kind.as_str();
        let Some(attr) = self.table.vector.attribute.as_deref() else {
            return Err(Error::key(self.key("attribute"), format!("`{kind}` needs {need}")));
        };
        self.check_field(attr)?;
        Ok(attr.to_string())
    }

    /// Checks that `field` is an attribute of the layer.
    pub fn check_field(&self, field: &str) -> Result<()> {
        match self.layer() {
            Some(l) => l.check_field(field),
            None => Ok(()),
        }
    }
}

/// Keys of every kind.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Common {
    /// How `model.kind = "wofe"` generalises this layer.
    pub wofe: Option<RawWofeLayer>,
    /// How `model.kind = "fuzzy"` turns this layer into a membership.
    pub fuzzy: Option<RawFuzzy>,
}

/// Keys of the kinds that read a raster band ([`Input::Raster`]).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RasterKeys {
    /// Raster band, from 1. Default 1.
    #[serde(default = "default_band")]
    pub band: usize,
    /// Resampling onto the grid. Default `auto`.
    #[serde(default)]
    pub resampling: Resampling,
}

impl Default for RasterKeys {
    fn default() -> Self {
        RasterKeys { band: default_band(), resampling: Resampling::default() }
    }
}

/// Keys of the kinds that read a vector layer or a point table ([`Input::Vector`]).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VectorKeys {
    /// Vector layer; default the first.
    pub layer: Option<String>,
    /// OGR SQL attribute filter on the vector layer.
    #[serde(rename = "where")]
    pub filter: Option<String>,
    /// Point table (XLSX, ODS, CSV, ...): column of the x coordinate (with `y` and `crs`).
    pub x: Option<String>,
    /// Point table: column of the y coordinate.
    pub y: Option<String>,
    /// CRS of the coordinates (a point table's, or one replacing a source's missing or wrong CRS).
    pub crs: Option<String>,
    /// The attribute the kind reads (classes, a number, sample values, point weights).
    pub attribute: Option<String>,
}

/// Keys of the continuous kinds (not [`Kind::CLASSES`]): a transform or classification
/// of the computed value.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TransformKeys {
    /// `log`, `log10`, `log1p`, `sqrt` or `rank` of the computed value (+ `offset`);
    /// `interpolate`: `log` and `clr` act on the samples. Default none.
    pub transform: Option<crate::features::interpolate::Transform>,
    /// Added before the transform.
    pub offset: Option<f64>,
    /// With `transform`: what a value outside its domain becomes (`error`, `half_min`, `drop`).
    pub zeros: Option<crate::features::transform::Zeros>,
    /// Classes from `quantile`, `equal_interval` or given `breaks`.
    pub classify: Option<crate::features::transform::RawClassify>,
}

/// The shared key groups: which kinds a group's keys apply to, and what a table of
/// another kind is told when it sets one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Common,
    Raster,
    Vector,
    Transform,
}

impl Group {
    const ALL: [Group; 4] = [Group::Common, Group::Raster, Group::Vector, Group::Transform];

    fn keys(self) -> &'static [&'static str] {
        match self {
            Group::Common => fields::<Common>(),
            Group::Raster => fields::<RasterKeys>(),
            Group::Vector => fields::<VectorKeys>(),
            Group::Transform => fields::<TransformKeys>(),
        }
    }

    /// Whether the group's keys apply to `kind`; `Err` tells why not.
    fn applies(self, kind: EvidenceKind) -> std::result::Result<(), String> {
        let ok = match self {
            Group::Common => true,
            Group::Raster => kind.input() == Input::Raster,
            Group::Vector => kind.input() == Input::Vector,
            Group::Transform => !kind.classes(),
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            Group::Common => unreachable!("common keys apply to every kind"),
            Group::Raster => {
                format!("only applies to raster kinds ({}), not `{}`", kind_list(Input::Raster), kind.as_str())
            }
            Group::Vector => {
                format!("only applies to vector kinds ({}), not `{}`", kind_list(Input::Vector), kind.as_str())
            }
            Group::Transform => format!(
                "`{}` layers are classes (one column per class); transforms apply to continuous layers",
                kind.as_str()
            ),
        })
    }
}

/// The kinds whose input is `input`, for messages.
fn kind_list(input: Input) -> String {
    let names: Vec<&str> = EvidenceKind::ALL.iter().filter(|k| k.input() == input).map(|k| k.as_str()).collect();
    names.join(", ")
}

/// One `[[evidence]]` table, each key in the one type that declares it.
#[derive(Debug, Clone, Serialize)]
pub struct RawEvidence {
    /// Unique name; output columns and metadata use it.
    pub name: String,
    /// The kind (`raster`, `categorical`, `distance`, ...).
    pub kind: EvidenceKind,
    /// Input file (raster for raster kinds, vector or point table for vector kinds, the
    /// scene for `spectral`).
    pub path: PathBuf,
    /// Keys of every kind.
    #[serde(flatten)]
    pub common: Common,
    /// Raster kinds' keys: `Some` exactly when the kind reads a raster band.
    #[serde(flatten)]
    pub raster: Option<RasterKeys>,
    /// Vector kinds' keys (unset elsewhere).
    #[serde(flatten)]
    pub vector: VectorKeys,
    /// Continuous kinds' keys (unset elsewhere).
    #[serde(flatten)]
    pub transform: TransformKeys,
    /// The keys the kind owns.
    #[serde(flatten)]
    pub keys: KindKeys,
}

impl RawEvidence {
    /// The band and resampling of a raster kind (the defaults for other kinds, unused).
    pub fn raster_keys(&self) -> RasterKeys {
        self.raster.clone().unwrap_or_default()
    }
}

/// The field names `T`'s derived `Deserialize` declares (renames applied), read once
/// from it by a deserializer that only records them: the one list of a table's keys, so
/// the routing of keys and docs/config.md's check never repeat a declaration. (The
/// `serde-aux` crate's `serde_introspect` does the same; it would bring `chrono` along for
/// this one function.)
pub fn fields<T: DeserializeOwned + 'static>() -> &'static [&'static str] {
    use std::any::TypeId;
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashMap<TypeId, &'static [&'static str]>>> = OnceLock::new();
    let mut seen = SEEN.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    seen.entry(TypeId::of::<T>()).or_insert_with(|| {
        let mut names: &'static [&'static str] = &[];
        let _ = T::deserialize(FieldNames(&mut names));
        names
    })
}

/// A deserializer that records the field names of the struct asked for, and stops.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

/// [`FieldNames`]' error: it always stops after the names.
#[derive(Debug)]
struct Stop;
impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("field names read")
    }
}
impl std::error::Error for Stop {}
impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Stop
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Stop;
    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> std::result::Result<V::Value, Stop> {
        Err(Stop)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> std::result::Result<V::Value, Stop> {
        *self.0 = fields;
        Err(Stop)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

/// Where a key of a table goes.
enum Route {
    /// The kind's own.
    Kind,
    /// A shared group's.
    Group(Group),
}

/// Where `key` goes on a table of `kind`; `Err` says why it has no place there.
fn route(kind: EvidenceKind, key: &str) -> std::result::Result<Route, String> {
    if kind.keys().contains(&key) {
        return Ok(Route::Kind);
    }
    if let Some(g) = Group::ALL.into_iter().find(|g| g.keys().contains(&key)) {
        return g.applies(kind).map(|()| Route::Group(g));
    }
    let owners: Vec<String> =
        EvidenceKind::ALL.iter().filter(|k| k.keys().contains(&key)).map(|k| format!("`{}`", k.as_str())).collect();
    if owners.is_empty() {
        let mut known: Vec<&str> = vec!["name", "kind", "path"];
        known.extend(Group::ALL.into_iter().filter(|g| g.applies(kind).is_ok()).flat_map(|g| g.keys().iter().copied()));
        known.extend(kind.keys().iter().copied());
        Err(format!("unknown key; `{}` takes {}", kind.as_str(), known.join(", ")))
    } else {
        Err(format!("only applies to {}, not `{}`", owners.join(", "), kind.as_str()))
    }
}

/// Parses one table, `evidence[index]` (`None`: a table on its own).
struct TableSeed {
    index: Option<usize>,
}

impl TableSeed {
    fn key(&self, k: &str) -> String {
        match self.index {
            Some(i) => format!("evidence[{i}].{k}"),
            None => format!("evidence.{k}"),
        }
    }
}

/// Refuses a key with `message`, as the value's own error so that it carries the key's line.
struct Refuse(String);

impl<'de> DeserializeSeed<'de> for Refuse {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, _: D) -> std::result::Result<(), D::Error> {
        Err(de::Error::custom(self.0))
    }
}

impl<'de> DeserializeSeed<'de> for TableSeed {
    type Value = RawEvidence;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<RawEvidence, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TableSeed {
    type Value = RawEvidence;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an [[evidence]] table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<RawEvidence, A::Error> {
        let (mut name, mut kind, mut path) = (None, None, None);
        let mut rest: Vec<(String, toml::Value)> = Vec::new();
        while let Some(k) = map.next_key::<String>()? {
            match k.as_str() {
                "name" => name = Some(map.next_value::<String>()?),
                "kind" => kind = Some(map.next_value::<EvidenceKind>()?),
                "path" => path = Some(map.next_value::<PathBuf>()?),
                _ => {
                    // With the kind known, a key that has no place on it is refused at its line.
                    if let Some(Err(why)) = kind.map(|kind| route(kind, &k)) {
                        map.next_value_seed(Refuse(format!("{}: {why}", self.key(&k))))?;
                    }
                    rest.push((k, map.next_value()?));
                }
            }
        }
        let missing = |k: &str| de::Error::custom(format!("{}: missing", self.key(k)));
        let name = name.ok_or_else(|| missing("name"))?;
        let kind = kind.ok_or_else(|| missing("kind"))?;
        let path = path.ok_or_else(|| missing("path"))?;
        let mut own = toml::Table::new();
        let mut groups: [toml::Table; 4] = Default::default();
        for (k, v) in rest {
            match route(kind, &k).map_err(|why| de::Error::custom(format!("{}: {why}", self.key(&k))))? {
                Route::Kind => own.insert(k, v),
                Route::Group(g) => groups[g as usize].insert(k, v),
            };
        }
        fn part<T: DeserializeOwned, E: de::Error>(table: toml::Table, what: &str) -> std::result::Result<T, E> {
            T::deserialize(toml::Value::Table(table)).map_err(|e| E::custom(in_table(what, &e)))
        }
        let [common, raster, vector, transform] = groups;
        let what = match self.index {
            Some(i) => format!("evidence[{i}] (`{name}`)"),
            None => format!("evidence `{name}`"),
        };
        Ok(RawEvidence {
            common: part(common, &what)?,
            raster: if kind.input() == Input::Raster { Some(part(raster, &what)?) } else { None },
            vector: part(vector, &what)?,
            transform: part(transform, &what)?,
            keys: KindKeys::parse(kind, own).map_err(|e| de::Error::custom(in_table(&what, &e)))?,
            name,
            kind,
            path,
        })
    }
}

/// A value's error inside a table, `what`, on one line: toml's message with the key it
/// names (`in `band``).
fn in_table(what: &str, e: &toml::de::Error) -> String {
    format!("{what}: {}", e.to_string().trim_end().replace('\n', " "))
}

impl<'de> Deserialize<'de> for RawEvidence {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<RawEvidence, D::Error> {
        TableSeed { index: None }.deserialize(d)
    }
}

/// The config tables of a manifest written before each kind declared its own keys (lode
/// 0.1 up to this change), made readable: those wrote `band = 1`, `resampling = "auto"`
/// and `max_classes = 256` on every `[[evidence]]` table, whatever its kind. Each such key
/// that its table's kind does not take, at exactly that value, is removed; any other key
/// is left for the parser to judge. For the configs lode wrote itself (`lode targets`,
/// `lode redraw` read them back), never for a user's file.
pub fn drop_legacy_defaults(config: &mut toml::Table) {
    let legacy: [(&str, toml::Value); 3] = [
        ("band", toml::Value::Integer(1)),
        ("resampling", toml::Value::String("auto".into())),
        ("max_classes", toml::Value::Integer(256)),
    ];
    let Some(toml::Value::Array(tables)) = config.get_mut("evidence") else { return };
    for t in tables.iter_mut().filter_map(toml::Value::as_table_mut) {
        let Some(kind) = t.get("kind").cloned().and_then(|k| k.try_into::<EvidenceKind>().ok()) else { continue };
        for (key, value) in &legacy {
            if t.get(*key) == Some(value) && route(kind, key).is_err() {
                t.remove(*key);
            }
        }
    }
}

/// `evidence = [...]` of a config: each table parsed knowing its position, so errors name
/// `evidence[i].key` (serde's `deserialize_with`).
pub fn evidence_tables<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<RawEvidence>, D::Error> {
    struct Tables;
    impl<'de> Visitor<'de> for Tables {
        type Value = Vec<RawEvidence>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("[[evidence]] tables")
        }
        fn visit_seq<S: de::SeqAccess<'de>>(self, mut seq: S) -> std::result::Result<Vec<RawEvidence>, S::Error> {
            let mut out = Vec::new();
            while let Some(t) = seq.next_element_seed(TableSeed { index: Some(out.len()) })? {
                out.push(t);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Tables)
}

/// How a weights-of-evidence table orders and accumulates a layer's classes
/// (`wofe = { method = ... }`; `wofe::Method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Rows by increasing class; patterns accumulate from the lowest class
    /// (low values favourable, e.g. distance to a feature).
    Ascending,
    /// Rows by decreasing class; patterns accumulate from the highest class
    /// (high values favourable, e.g. a density).
    Descending,
    /// Rows by increasing class; every class is its own pattern (unordered
    /// values, e.g. lithology).
    Categorical,
}

/// `wofe = { ... }` of an evidence layer: how weights of evidence generalises it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawWofeLayer {
    /// `ascending` (low values favourable), `descending` (high values favourable) or
    /// `categorical`. Default: `categorical` for one-hot layers, `ascending` otherwise.
    pub method: Option<Method>,
    /// For ascending / descending: the class that ends the favourable pattern (instead of
    /// the class of maximum contrast).
    pub threshold: Option<f64>,
    /// For categorical: the classes that form the favourable pattern (binary
    /// generalisation) instead of one weight per class: codes or class names.
    pub classes: Option<Vec<crate::features::classes::ClassName>>,
    /// A class value that stands for missing data (weight 0, missing-data variance).
    pub missing: Option<i64>,
}

/// Fuzzy membership functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Membership {
    /// 0 at `low`, 1 at `high`, linear between (decreasing when `low > high`).
    Linear,
    /// `1 / (1 + (x / midpoint)^-spread)`: large values favourable (ArcGIS FuzzyLarge).
    Large,
    /// `1 / (1 + (x / midpoint)^spread)`: small values favourable (ArcGIS FuzzySmall).
    Small,
    /// A membership per class (`values`), `default` for other classes.
    Classes,
}

/// What `low` and `high` of a linear membership are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FuzzyFrom {
    /// Values of the layer.
    #[default]
    Value,
    /// Percentiles (0-100) of the layer over the study area (`model::percentile`).
    Percentile,
}

/// `fuzzy = { ... }` of an evidence layer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RawFuzzy {
    /// The membership function. Default `linear`.
    #[serde(default = "default_membership")]
    pub membership: Membership,
    /// `percentile`: `low` and `high` are percentiles (0-100) of the layer over the study
    /// area, not values. Default `value`.
    pub from: Option<FuzzyFrom>,
    /// `linear`: value (or percentile) of membership 0.
    pub low: Option<f64>,
    /// `linear`: value (or percentile) of membership 1.
    pub high: Option<f64>,
    /// `large` / `small`: value of membership 0.5.
    pub midpoint: Option<f64>,
    /// `large` / `small`: steepness. Default 5 (ArcGIS's default).
    pub spread: Option<f64>,
    /// `classes`: membership per class, e.g. `{ "585" = 0.9, "1621" = 0.2 }`.
    pub values: Option<std::collections::BTreeMap<String, f64>>,
    /// `classes`: membership of classes not in `values`. Default 0.
    pub default: Option<f64>,
}

/// A validated `[[evidence]]` table.
#[derive(Debug, Clone)]
pub struct EvidenceSettings {
    /// Unique name.
    pub name: String,
    /// Its kind.
    pub kind: EvidenceKind,
    /// The input, raster or vector.
    pub input: EvidenceInput,
    /// Resampling (raster kinds; `auto` for the others).
    pub resampling: Resampling,
    /// `attribute` (vector kinds).
    pub attribute: Option<String>,
    /// Weights-of-evidence generalisation.
    pub wofe: RawWofeLayer,
    /// Fuzzy membership (required when the model is fuzzy).
    pub fuzzy: Option<RawFuzzy>,
    /// The keys of its kind, validated.
    pub params: KindParams,
    /// The transform or classification of a continuous layer (`None`: used as computed).
    pub transform: Option<crate::features::transform::Params>,
}

/// Where an evidence layer's values come from.
#[derive(Debug, Clone)]
pub enum EvidenceInput {
    /// A raster band.
    Raster(io::raster::BandRef),
    /// A vector layer.
    Vector(io::vector::LayerRef),
    /// A satellite scene's metadata file (its bands are found next to it).
    Scene(PathBuf),
}

/// Validates `evidence[i]` (the tables `before` it already validated): its name, its
/// input opened, the shared keys and its kind's keys.
pub(crate) fn validate_evidence(i: usize, ev: &RawEvidence, before: &[EvidenceSettings]) -> Result<EvidenceSettings> {
    let key = |k: &str| format!("evidence[{i}].{k}");
    let name = ev.name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(Error::key(key("name"), format!("`{}` must be non-empty letters, digits, `_` or `-`", ev.name)));
    }
    if before.iter().any(|b| b.name == name) {
        return Err(Error::key(key("name"), format!("`{name}` is used by two layers")));
    }
    let raster = ev.raster_keys();
    let input = match ev.kind.input() {
        Input::Scene => {
            if !ev.path.exists() {
                return Err(Error::MissingFile { key: key("path"), path: ev.path.clone() });
            }
            EvidenceInput::Scene(ev.path.clone())
        }
        Input::Raster => EvidenceInput::Raster(io::raster::BandRef::open(&key("path"), &ev.path, raster.band)?),
        Input::Vector => {
            let v = &ev.vector;
            let keys = io::vector::SourceKeys::new(
                &format!("evidence[{i}]"),
                v.x.as_deref(),
                v.y.as_deref(),
                v.crs.as_deref(),
            );
            EvidenceInput::Vector(io::vector::LayerRef::open_with(
                &key("path"),
                &ev.path,
                v.layer.as_deref(),
                v.filter.as_deref(),
                &keys,
            )?)
        }
    };
    let cx = Check { index: i, table: ev, input: &input };
    let params = ev.keys.check(&cx)?;
    let transform = crate::features::transform::Params::from_keys(i, ev.kind, &ev.transform)?;
    Ok(EvidenceSettings {
        name: name.to_string(),
        kind: ev.kind,
        input,
        resampling: raster.resampling,
        attribute: ev.vector.attribute.clone(),
        wofe: ev.common.wofe.clone().unwrap_or_default(),
        fuzzy: ev.common.fuzzy.clone(),
        params,
        transform,
    })
}

fn default_band() -> usize {
    1
}
fn default_membership() -> Membership {
    Membership::Linear
}
