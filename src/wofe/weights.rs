//! Calculate Weights: the weights-of-evidence table of one evidence map.
//!
//! Input is, per class (map value), the number of cells and of deposits in
//! it. Areas are measured in *unit cells* (`area_km2 / unit_cell_km2`), the
//! assumed footprint of one deposit. For every row a binary pattern is
//! formed: the class itself (categorical) or the class and all rows before
//! it (ascending / descending, i.e. cumulative). With `s` the study area and
//! `b` the pattern area (unit cells), `ds` the deposits in the study area and
//! `db` those on the pattern:
//!
//! ```text
//! W+ = ln[(db/ds) / ((b-db)/(s-ds))]            s(W+) = sqrt(1/db + 1/(b-db))
//! W- = ln[((ds-db)/ds) / ((s-b-ds+db)/(s-ds))]  s(W-) = sqrt(1/(ds-db) + 1/(s-b-ds+db))
//! C  = W+ - W-    s(C) = sqrt(s(W+)^2 + s(W-)^2)    STUDC = C / s(C)
//! ```
//!
//! Degenerate patterns are patched as in GA's R port (see [`weights_table`]).

use crate::wofe::WofeError;

/// Class value written to `GEN_CLASS` of every row when no row's studentized
/// contrast reaches the confidence threshold (GA's R port uses 999).
pub const NOT_CONFIDENT: i64 = 999;

pub use crate::features::spec::Method;

impl Method {
    fn is_cumulative(self) -> bool {
        self != Method::Categorical
    }
}

/// Number of cells and deposits of one class of an evidence map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassCount {
    /// Map value.
    pub class: i64,
    /// Cells of the study area with this value.
    pub cells: u64,
    /// Deposits whose point falls in such a cell; several deposits in one
    /// cell count several times.
    pub deposits: u64,
}

/// Parameters of [`weights_table`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightsParams {
    /// Row order, accumulation and generalisation.
    pub method: Method,
    /// Area of one raster cell in km² (0.01 for 100 m cells).
    pub cell_area_km2: f64,
    /// Area of one unit cell in km² (ArcSDM's "unit area", typically 1).
    pub unit_cell_km2: f64,
    /// Minimum studentized contrast for the table to be generalised
    /// (ArcSDM's "confidence", typically 2).
    pub confidence: f64,
    /// Class value standing for missing data inside the study area. Its
    /// cells and deposits are left out of the study area, the totals and the
    /// accumulation; its row keeps its own counts, has zero statistics,
    /// `GEN_CLASS` equal to the class and zero generalised weight.
    pub missing_data: Option<i64>,
}

impl WeightsParams {
    /// Parameters without a missing-data class.
    pub fn new(method: Method, cell_area_km2: f64, unit_cell_km2: f64, confidence: f64) -> Self {
        Self { method, cell_area_km2, unit_cell_km2, confidence, missing_data: None }
    }
}

/// One row of a weights table; field names follow the CSV columns.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WeightsRow {
    /// Map value.
    pub class: i64,
    /// Area of this class alone, km².
    pub class_area: f64,
    /// Area of the row's pattern (cumulative for ascending/descending), km².
    pub area_sq_km: f64,
    /// `area_sq_km` in unit cells.
    pub area_units: f64,
    /// Deposits on the row's pattern (cumulative for ascending/descending).
    pub no_points: u64,
    /// W+ of the pattern.
    pub wplus: f64,
    /// Standard deviation of W+.
    pub s_wplus: f64,
    /// W- of the pattern.
    pub wminus: f64,
    /// Standard deviation of W-.
    pub s_wminus: f64,
    /// Contrast `W+ - W-`.
    pub contrast: f64,
    /// Standard deviation of the contrast.
    pub s_contrast: f64,
    /// Studentized contrast `contrast / s_contrast`.
    pub studc: f64,
    /// Generalised class: 2 (inside) / 1 (outside) for ascending and
    /// descending, the class itself for categorical, [`NOT_CONFIDENT`] when
    /// no row is confident, the class itself for the missing-data row.
    pub gen_class: i64,
    /// Generalised weight used by Calculate Response.
    pub weight: f64,
    /// Standard deviation of the generalised weight.
    pub w_std: f64,
}

/// W+/W-/contrast statistics of one binary pattern (all zero when undefined).
#[derive(Debug, Clone, Copy, Default)]
struct PatternStats {
    wplus: f64,
    s_wplus: f64,
    wminus: f64,
    s_wminus: f64,
    contrast: f64,
    s_contrast: f64,
    studc: f64,
}

/// Statistics of a pattern of `b` unit cells holding `db` of the `ds`
/// deposits of a study area of `s` unit cells, with GA's patches:
/// * `db == 0`: all statistics are 0;
/// * `db == ds`: `db = ds - 0.99`;
/// * `s - b <= ds - db` (pattern covers nearly everything): `b = s + db - ds - 0.99`;
/// * `b - db <= 0` (more deposits than unit cells): `b = db + 1`.
fn pattern_stats(db: u64, b: f64, ds: u64, s: f64) -> PatternStats {
    if db == 0 {
        return PatternStats::default();
    }
    let ds = ds as f64;
    let mut db = db as f64;
    let mut b = b;
    if db == ds {
        db -= 0.99;
    }
    if s - b <= ds - db {
        b = s + db - ds - 0.99;
    }
    if b - db <= 0.0 {
        b = db + 1.0;
    }
    let wplus = ((db / ds) / ((b - db) / (s - ds))).ln();
    let var_plus = 1.0 / db + 1.0 / (b - db);
    let wminus = (((ds - db) / ds) / ((s - b - ds + db) / (s - ds))).ln();
    let var_minus = 1.0 / (ds - db) + 1.0 / (s - b - ds + db);
    let contrast = wplus - wminus;
    let s_contrast = (var_plus + var_minus).sqrt();
    PatternStats {
        wplus,
        s_wplus: var_plus.sqrt(),
        wminus,
        s_wminus: var_minus.sqrt(),
        contrast,
        s_contrast,
        studc: contrast / s_contrast,
    }
}

/// Builds the weights table of one evidence map from its per-class counts.
///
/// Rows are sorted by class (descending for [`Method::Descending`]); the
/// order of `counts` does not matter. The study area `s` is the total area of
/// all non-missing classes in unit cells and `ds` the total of their
/// deposits.
///
/// Generalisation (columns `GEN_CLASS`, `WEIGHT`, `W_STD`), as in GA's R port:
/// * if the largest studentized contrast of the table is below
///   `confidence`, every row gets [`NOT_CONFIDENT`] and zero weights;
/// * ascending / descending: the row `k` with the largest contrast (first
///   one on ties) is the threshold; rows up to and including `k` get
///   `GEN_CLASS` 2 with W+ and s(W+) of row `k`, later rows get 1 with W-
///   and s(W-) of row `k`;
/// * categorical: every row keeps its class and its own W+ and s(W+).
///
/// ArcSDM differs: it picks `k` among rows whose studentized contrast reaches
/// the confidence only, and for categorical tables pools non-confident
/// classes into one "outside" class. On GA's reference tables the threshold
/// row is the same under both rules.
pub fn weights_table(counts: &[ClassCount], params: &WeightsParams) -> Result<Vec<WeightsRow>, WofeError> {
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(params.cell_area_km2) {
        return Err(WofeError::InvalidParameter("cell_area_km2"));
    }
    if !positive(params.unit_cell_km2) {
        return Err(WofeError::InvalidParameter("unit_cell_km2"));
    }
    if !params.confidence.is_finite() {
        return Err(WofeError::InvalidParameter("confidence"));
    }

    let mut counts = counts.to_vec();
    counts.sort_by_key(|c| c.class);
    if let Some(w) = counts.windows(2).find(|w| w[0].class == w[1].class) {
        return Err(WofeError::DuplicateClass(w[0].class));
    }
    if params.method == Method::Descending {
        counts.reverse();
    }
    let is_missing = |class: i64| params.missing_data == Some(class);

    // Pattern area and deposits of every row, and the study-area totals.
    let mut rows = Vec::with_capacity(counts.len());
    let (mut cum_area, mut cum_points, mut any_class) = (0.0, 0, false);
    for c in &counts {
        let class_area = c.cells as f64 * params.cell_area_km2;
        let (area_sq_km, no_points) = if is_missing(c.class) {
            (class_area, c.deposits)
        } else {
            any_class = true;
            cum_area += class_area;
            cum_points += c.deposits;
            if params.method.is_cumulative() {
                (cum_area, cum_points)
            } else {
                (class_area, c.deposits)
            }
        };
        rows.push(WeightsRow {
            class: c.class,
            class_area,
            area_sq_km,
            area_units: area_sq_km / params.unit_cell_km2,
            no_points,
            wplus: 0.0,
            s_wplus: 0.0,
            wminus: 0.0,
            s_wminus: 0.0,
            contrast: 0.0,
            s_contrast: 0.0,
            studc: 0.0,
            gen_class: c.class,
            weight: 0.0,
            w_std: 0.0,
        });
    }
    if !any_class {
        return Err(WofeError::NoClasses);
    }
    let (s, ds) = (cum_area / params.unit_cell_km2, cum_points);
    if ds == 0 {
        return Err(WofeError::NoDeposits);
    }
    if s <= ds as f64 {
        return Err(WofeError::StudyAreaTooSmall { unit_cells: s, deposits: ds });
    }

    for row in rows.iter_mut().filter(|r| !is_missing(r.class)) {
        let st = pattern_stats(row.no_points, row.area_units, ds, s);
        row.wplus = st.wplus;
        row.s_wplus = st.s_wplus;
        row.wminus = st.wminus;
        row.s_wminus = st.s_wminus;
        row.contrast = st.contrast;
        row.s_contrast = st.s_contrast;
        row.studc = st.studc;
    }

    generalise(&mut rows, params.method, params.confidence, is_missing);
    Ok(rows)
}

/// Fills `gen_class`, `weight` and `w_std` of the non-missing rows.
fn generalise(rows: &mut [WeightsRow], method: Method, confidence: f64, is_missing: impl Fn(i64) -> bool) {
    let data = || rows.iter().enumerate().filter(|(_, r)| !is_missing(r.class));
    let max_studc = data().map(|(_, r)| r.studc).fold(f64::NEG_INFINITY, f64::max);
    // Threshold row: the first row of maximum contrast (R's which.max).
    let max_contrast_row = data()
        .filter(|(_, r)| r.contrast.is_finite())
        .fold(None, |best: Option<(usize, f64)>, (i, r)| match best {
            Some((_, c)) if c >= r.contrast => best,
            _ => Some((i, r.contrast)),
        })
        .map(|(k, _)| k);
    let threshold = max_contrast_row.filter(|_| max_studc >= confidence);
    generalise_at(rows, method, threshold, is_missing);
}

/// Fills `gen_class`, `weight` and `w_std` of the non-missing rows with the threshold
/// row `k` (`None`: not confident, every row [`NOT_CONFIDENT`] with weight 0). For
/// ascending / descending tables, rows up to `k` form the favourable pattern (class 2,
/// W+ of row `k`), the others class 1 with its W-; categorical rows keep their own W+.
pub fn generalise_at(rows: &mut [WeightsRow], method: Method, k: Option<usize>, is_missing: impl Fn(i64) -> bool) {
    let threshold = k.map(|k| {
        let r = &rows[k];
        (k, (r.wplus, r.s_wplus), (r.wminus, r.s_wminus))
    });
    for (i, row) in rows.iter_mut().enumerate() {
        if is_missing(row.class) {
            continue;
        }
        let (gen_class, (weight, w_std)) = match (threshold, method) {
            (None, _) => (NOT_CONFIDENT, (0.0, 0.0)),
            (Some(_), Method::Categorical) => (row.class, (row.wplus, row.s_wplus)),
            (Some((k, inside, _)), _) if i <= k => (2, inside),
            (Some((_, _, outside)), _) => (1, outside),
        };
        row.gen_class = gen_class;
        row.weight = weight;
        row.w_std = w_std;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(class: i64, cells: u64, deposits: u64) -> ClassCount {
        ClassCount { class, cells, deposits }
    }

    #[test]
    fn descending_sorts_and_accumulates() {
        let counts = [count(1, 5000, 1), count(3, 1000, 6), count(2, 4000, 3)];
        let rows = weights_table(&counts, &WeightsParams::new(Method::Descending, 0.01, 1.0, 0.5)).unwrap();
        let classes: Vec<_> = rows.iter().map(|r| r.class).collect();
        assert_eq!(classes, [3, 2, 1]);
        assert_eq!(rows.iter().map(|r| r.no_points).collect::<Vec<_>>(), [6, 9, 10]);
        assert!((rows[1].area_sq_km - 50.0).abs() < 1e-12);
        assert!((rows[2].area_units - 100.0).abs() < 1e-12);
    }

    #[test]
    fn missing_class_is_left_out_of_the_study_area() {
        let with_md = [count(-99, 7000, 4), count(1, 1000, 6), count(2, 9000, 4)];
        let without = [count(1, 1000, 6), count(2, 9000, 4)];
        let mut params = WeightsParams::new(Method::Ascending, 0.01, 1.0, 1.0);
        let plain = weights_table(&without, &params).unwrap();
        params.missing_data = Some(-99);
        let rows = weights_table(&with_md, &params).unwrap();
        assert_eq!(rows[0].class, -99);
        assert_eq!((rows[0].gen_class, rows[0].weight, rows[0].studc), (-99, 0.0, 0.0));
        assert_eq!(rows[0].no_points, 4);
        assert_eq!(&rows[1..], &plain[..]);
    }

    #[test]
    fn no_confident_row_gives_999() {
        let counts = [count(1, 100_000, 5), count(2, 100_000, 5)];
        let rows = weights_table(&counts, &WeightsParams::new(Method::Categorical, 0.01, 1.0, 2.0)).unwrap();
        assert!(rows.iter().all(|r| r.gen_class == NOT_CONFIDENT && r.weight == 0.0 && r.w_std == 0.0));
    }

    #[test]
    fn rejects_bad_input() {
        let p = WeightsParams::new(Method::Ascending, 0.01, 1.0, 2.0);
        assert_eq!(weights_table(&[], &p), Err(WofeError::NoClasses));
        assert_eq!(weights_table(&[count(1, 10, 0), count(1, 10, 0)], &p), Err(WofeError::DuplicateClass(1)));
        assert_eq!(weights_table(&[count(1, 1000, 0)], &p), Err(WofeError::NoDeposits));
        assert!(matches!(weights_table(&[count(1, 100, 3)], &p), Err(WofeError::StudyAreaTooSmall { .. })));
        let bad = WeightsParams { unit_cell_km2: 0.0, ..p };
        assert_eq!(weights_table(&[count(1, 10, 1)], &bad), Err(WofeError::InvalidParameter("unit_cell_km2")));
    }
}
