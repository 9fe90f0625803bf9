//! `kind = "spectral"`: a band-math expression or a named index over a Landsat 8/9 OLI
//! scene, computed on top-of-atmosphere reflectance.
//!
//! `path` is the scene's `*_MTL.txt`. Band `n`'s file is the MTL's `FILE_NAME_BAND_n` in
//! the MTL's folder or, when renamed, the one file there whose name ends in `_B<n>.tif`
//! (any case). DN 0 is Landsat's fill and has no data (masked before any warping).
//! Reflectance (USGS Landsat 8 Data Users Handbook, section 5.2):
//! `ρ = (REFLECTANCE_MULT_BAND_n · DN + REFLECTANCE_ADD_BAND_n) / sin(SUN_ELEVATION)`.
//! Each band is warped onto the grid on its own (resampling as for rasters; the scaling
//! is linear, so it commutes with bilinear and average resampling).
//!
//! Expressions use band names `B1`..`B11`, numbers, `+ - * /`, unary minus and
//! parentheses. A cell where a division has a zero divisor, or a band has no data, has
//! no data.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ndarray::Array2;

use crate::config::{EvidenceKind, EvidenceSettings, RawEvidence};
use crate::error::{Error, Result};
use crate::features::{Evidence, LayerBlock};
use crate::grid::{Grid, Window};
use crate::io::raster::{BandRef, GridBand};

/// Named indices for Landsat 8/9 OLI: name, expression, reference.
pub const INDICES: &[(&str, &str, &str)] = &[
    ("ndvi", "(B5 - B4) / (B5 + B4)", "Rouse et al. (1974), NASA SP-351"),
    ("ferric_iron", "B4 / B2", "red/blue iron-oxide ratio (TM 3/1), Sabins (1999), Ore Geol. Rev. 14"),
    ("ferrous_iron", "B6 / B5", "SWIR1/NIR ferrous-iron ratio (TM 5/4), Sabins (1999)"),
    ("clay", "B6 / B7", "SWIR1/SWIR2 hydroxyl (Al-OH clay) ratio (TM 5/7), Sabins (1999)"),
];

/// A parsed band-math expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A number.
    Num(f64),
    /// A band, by number.
    Band(usize),
    /// Negation.
    Neg(Box<Expr>),
    /// A binary operation: `+ - * /`.
    Bin(char, Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Parses `text`; bands must be among `available`. Errors name the bad token and its
    /// position, or the unknown band.
    pub fn parse(text: &str, available: &[usize]) -> std::result::Result<Expr, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser { tokens, pos: 0, text, available };
        let e = p.sum()?;
        if let Some((at, t)) = p.tokens.get(p.pos) {
            return Err(format!("unexpected `{t}` at character {} of `{text}`", at + 1));
        }
        Ok(e)
    }

    /// Bands the expression reads.
    pub fn bands(&self, out: &mut Vec<usize>) {
        match self {
            Expr::Num(_) => {}
            Expr::Band(b) => {
                if !out.contains(b) {
                    out.push(*b)
                }
            }
            Expr::Neg(e) => e.bands(out),
            Expr::Bin(_, a, b) => {
                a.bands(out);
                b.bands(out);
            }
        }
    }

    /// Evaluates with `band(n)`; `None` on a zero divisor or a non-finite result.
    pub fn eval(&self, band: &dyn Fn(usize) -> f64) -> Option<f64> {
        let v = match self {
            Expr::Num(v) => *v,
            Expr::Band(b) => band(*b),
            Expr::Neg(e) => -e.eval(band)?,
            Expr::Bin(op, a, b) => {
                let (x, y) = (a.eval(band)?, b.eval(band)?);
                match op {
                    '+' => x + y,
                    '-' => x - y,
                    '*' => x * y,
                    _ if y == 0.0 => return None,
                    _ => x / y,
                }
            }
        };
        v.is_finite().then_some(v)
    }
}

fn tokenize(text: &str) -> std::result::Result<Vec<(usize, String)>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if "+-*/()".contains(c) {
            out.push((i, c.to_string()));
            i += 1;
        } else if c.is_ascii_alphanumeric() || c == '.' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
            out.push((start, chars[start..i].iter().collect()));
        } else {
            return Err(format!("unexpected character `{c}` at character {} of `{text}`", i + 1));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<(usize, String)>,
    pos: usize,
    text: &'a str,
    available: &'a [usize],
}

impl Parser<'_> {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(|t| t.1.as_str())
    }

    fn sum(&mut self) -> std::result::Result<Expr, String> {
        let mut e = self.product()?;
        while let Some(op @ ("+" | "-")) = self.peek() {
            let op = op.chars().next().unwrap_or('+');
            self.pos += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.product()?));
        }
        Ok(e)
    }

    fn product(&mut self) -> std::result::Result<Expr, String> {
        let mut e = self.unary()?;
        while let Some(op @ ("*" | "/")) = self.peek() {
            let op = op.chars().next().unwrap_or('*');
            self.pos += 1;
            e = Expr::Bin(op, Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }

    fn unary(&mut self) -> std::result::Result<Expr, String> {
        if self.peek() == Some("-") {
            self.pos += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> std::result::Result<Expr, String> {
        let Some((at, t)) = self.tokens.get(self.pos).cloned() else {
            return Err(format!("`{}` ends where a band, number or `(` was expected", self.text));
        };
        self.pos += 1;
        if t == "(" {
            let e = self.sum()?;
            if self.peek() != Some(")") {
                return Err(format!("missing `)` for the `(` at character {} of `{}`", at + 1, self.text));
            }
            self.pos += 1;
            return Ok(e);
        }
        if let Ok(v) = t.parse::<f64>() {
            return Ok(Expr::Num(v));
        }
        if let Some(n) = t.strip_prefix(['B', 'b']).and_then(|n| n.parse::<usize>().ok()) {
            if self.available.contains(&n) {
                return Ok(Expr::Band(n));
            }
            let names: Vec<String> = self.available.iter().map(|b| format!("B{b}")).collect();
            return Err(format!("unknown band `{t}` in `{}`; this sensor has {}", self.text, names.join(", ")));
        }
        Err(format!("unexpected `{t}` at character {} of `{}`", at + 1, self.text))
    }
}

/// The radiometric metadata of a Landsat 8/9 scene, from its MTL file.
#[derive(Debug, Clone)]
pub struct Mtl {
    /// Sun elevation, degrees.
    pub sun_elevation: f64,
    /// Per reflective band: (REFLECTANCE_MULT, REFLECTANCE_ADD).
    pub reflectance: BTreeMap<usize, (f64, f64)>,
    /// Per band: the file named by the MTL.
    pub files: BTreeMap<usize, String>,
}

impl Mtl {
    /// Parses the `KEY = value` lines of an MTL text.
    pub fn parse(text: &str) -> std::result::Result<Mtl, String> {
        let mut kv = BTreeMap::new();
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                kv.insert(k.trim().to_string(), v.trim().trim_matches('"').to_string());
            }
        }
        let num = |k: &str| -> std::result::Result<f64, String> {
            let v = kv.get(k).ok_or_else(|| format!("has no {k}"))?;
            v.parse().map_err(|_| format!("{k} = {v} is not a number"))
        };
        let sun_elevation = num("SUN_ELEVATION")?;
        let mut reflectance = BTreeMap::new();
        let mut files = BTreeMap::new();
        for b in 1..=11 {
            if let (Ok(m), Ok(a)) = (num(&format!("REFLECTANCE_MULT_BAND_{b}")), num(&format!("REFLECTANCE_ADD_BAND_{b}"))) {
                reflectance.insert(b, (m, a));
            }
            if let Some(f) = kv.get(&format!("FILE_NAME_BAND_{b}")) {
                files.insert(b, f.clone());
            }
        }
        if reflectance.is_empty() {
            return Err("has no REFLECTANCE_MULT_BAND_n / REFLECTANCE_ADD_BAND_n".into());
        }
        Ok(Mtl { sun_elevation, reflectance, files })
    }
}

/// The validated keys of a `spectral` layer.
#[derive(Debug, Clone)]
pub struct Params {
    /// The expression (from `expression` or the named `index`).
    pub expression: String,
    /// The named index, if one was used.
    pub index: Option<String>,
}

impl Params {
    /// Checks the keys of `evidence[i]`.
    pub fn from_raw(i: usize, ev: &RawEvidence) -> Result<Option<Params>> {
        let key = |k: &str| format!("evidence[{i}].{k}");
        if ev.kind != EvidenceKind::Spectral {
            for (k, set) in [("expression", ev.expression.is_some()), ("index", ev.index.is_some())] {
                if set {
                    return Err(Error::key(key(k), format!("only applies to `spectral`, not `{}`", ev.kind.as_str())));
                }
            }
            return Ok(None);
        }
        let (expression, index) = match (&ev.expression, &ev.index) {
            (Some(e), None) => (e.clone(), None),
            (None, Some(name)) => match INDICES.iter().find(|(n, _, _)| n == name) {
                Some((_, e, _)) => (e.to_string(), Some(name.clone())),
                None => {
                    let names: Vec<&str> = INDICES.iter().map(|x| x.0).collect();
                    return Err(Error::key(key("index"), format!("unknown index `{name}`; known: {}", names.join(", "))));
                }
            },
            _ => return Err(Error::key(key("expression"), "`spectral` needs one of `expression` or `index`")),
        };
        let bands: Vec<usize> = (1..=11).collect();
        Expr::parse(&expression, &bands).map_err(|m| Error::key(key(if index.is_some() { "index" } else { "expression" }), m))?;
        Ok(Some(Params { expression, index }))
    }
}

/// A spectral index of a scene, on the grid.
#[derive(Debug)]
pub struct Spectral {
    name: String,
    mtl_path: PathBuf,
    expr: Expr,
    /// Per band read: (band number, band on the grid, mult, add).
    bands: Vec<(usize, GridBand, f64, f64)>,
    sin_sun: f64,
    params: Params,
}

/// The file of band `b` next to the MTL.
fn band_file(mtl_path: &Path, mtl: &Mtl, b: usize) -> Result<PathBuf> {
    let dir = mtl_path.parent().unwrap_or(Path::new("."));
    if let Some(f) = mtl.files.get(&b) {
        let p = dir.join(f);
        if p.exists() {
            return Ok(p);
        }
    }
    let suffix = format!("_b{b}.tif");
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::input(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().to_lowercase().ends_with(&suffix)))
        .collect();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(Error::input(
            mtl_path,
            format!("band {b}: neither {:?} nor a file ending in _B{b}.tif is in {}", mtl.files.get(&b), dir.display()),
        )),
        _ => Err(Error::input(mtl_path, format!("band {b}: several files end in _B{b}.tif in {}", dir.display()))),
    }
}

impl Spectral {
    /// Reads the MTL, finds and warps the bands the expression uses.
    pub fn prepare(settings: &EvidenceSettings, grid: &Grid) -> Result<Spectral> {
        let params = Params::from_raw(0, &settings.raw)?
            .ok_or_else(|| Error::key(&settings.name, "not a `spectral` layer"))?;
        let mtl_path = settings.raw.path.clone();
        let text = std::fs::read_to_string(&mtl_path).map_err(|e| Error::input(&mtl_path, e))?;
        let mtl = Mtl::parse(&text).map_err(|m| Error::input(&mtl_path, format!("not a Landsat MTL file: {m}")))?;
        let available: Vec<usize> = mtl.reflectance.keys().copied().collect();
        let expr = Expr::parse(&params.expression, &available).map_err(|m| Error::input(&mtl_path, m))?;
        let mut used = Vec::new();
        expr.bands(&mut used);
        let mut bands = Vec::new();
        for b in used {
            let file = band_file(&mtl_path, &mtl, b)?;
            let bref = BandRef::open(&format!("{}.path (band B{b})", settings.name), &file, 1)?;
            let (m, a) = mtl.reflectance[&b];
            bands.push((b, GridBand::with_fill(&bref, grid, settings.resampling, 0.0)?, m, a));
        }
        Ok(Spectral {
            name: settings.name.clone(),
            mtl_path,
            expr,
            bands,
            sin_sun: mtl.sun_elevation.to_radians().sin(),
            params,
        })
    }
}

impl Evidence for Spectral {
    fn name(&self) -> &str {
        &self.name
    }

    fn columns(&self) -> Vec<String> {
        vec![self.name.clone()]
    }

    fn compute(&self, grid: &Grid, w: &Window) -> Result<LayerBlock> {
        let blocks: Vec<_> = self.bands.iter().map(|(_, gb, _, _)| gb.read(grid, w)).collect::<Result<_>>()?;
        let mut values = Array2::<f64>::zeros((w.len(), 1));
        let mut valid = vec![false; w.len()];
        for (i, ok) in valid.iter_mut().enumerate() {
            if !blocks.iter().all(|b| b.valid[i]) {
                continue;
            }
            let reflectance = |band: usize| {
                let k = self.bands.iter().position(|x| x.0 == band).unwrap_or(0);
                let (_, _, m, a) = self.bands[k];
                (m * blocks[k].values[i] + a) / self.sin_sun
            };
            if let Some(v) = self.expr.eval(&reflectance) {
                values[[i, 0]] = v;
                *ok = true;
            }
        }
        Ok(LayerBlock { values, valid })
    }

    fn describe(&self) -> String {
        format!(
            "spectral {} = {} on TOA reflectance of {}",
            self.params.index.as_deref().unwrap_or("expression"),
            self.params.expression,
            self.mtl_path.display()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_parse_with_precedence_and_name_their_errors() {
        let bands: Vec<usize> = (1..=11).collect();
        let e = Expr::parse("(B6 - B7) / (B6 + B7)", &bands).unwrap();
        let v = e.eval(&|b| if b == 6 { 3.0 } else { 1.0 }).unwrap();
        assert_eq!(v, 0.5);
        let e = Expr::parse("-B2 * 2 + 10 / B4", &bands).unwrap();
        assert_eq!(e.eval(&|b| b as f64), Some(-4.0 + 2.5));
        assert_eq!(Expr::parse("B1 / (B2 - B2)", &bands).unwrap().eval(&|_| 1.0), None);
        let err = Expr::parse("B13 / B4", &bands).unwrap_err();
        assert!(err.contains("unknown band `B13`") && err.contains("B11"), "{err}");
        let err = Expr::parse("B4 % B3", &bands).unwrap_err();
        assert!(err.contains("`%`") && err.contains("character 4"), "{err}");
        let err = Expr::parse("(B4 + B3", &bands).unwrap_err();
        assert!(err.contains("missing `)`"), "{err}");
        let err = Expr::parse("B4 +", &bands).unwrap_err();
        assert!(err.contains("ends"), "{err}");
        let err = Expr::parse("B4 B3", &bands).unwrap_err();
        assert!(err.contains("unexpected `B3`"), "{err}");
    }
}
