#!/usr/bin/env python3
"""Benchmark eis-toolkit's weights of evidence on GA's Cloncurry rasters and compare with GA's tables.

Runs ``eis_toolkit.prediction.weights_of_evidence.weights_of_evidence_calculate_weights`` (eis-toolkit
1.1.x) on Dist2Breccia (cumulative ascending), FaultDensity (cumulative descending) and StratNo
(categorical) with the 258 IOCG deposits, times each layer (best of N repeats), and compares the
weights with Geoscience Australia's published Calculate Weights tables (ArcSDM definitions, 1 km²
unit cell). Writes a JSON report to --out. Run it with the bench venv:

    .venv-bench/bin/python benches/wofe_eis.py --out benches/out/wofe_eis.json --repeats 3

--lode-csv LAYER=PATH additionally compares a table written by `lode weights` with GA's table,
with the same row alignment (by class value) and the same error measures.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
import warnings

_T_IMPORT = time.perf_counter()
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Layer name -> (lode/GA method, eis-toolkit weights_type, GA reference table)
LAYERS = {
    "Dist2Breccia": ("ascending", "ascending", "Dist2Breccia_CA.csv"),
    "FaultDensity": ("descending", "descending", "FaultDensity_CD.csv"),
    "StratNo": ("categorical", "categorical", "StratNo_CT.csv"),
}

# GA column -> eis-toolkit column (read from eis_toolkit/prediction/weights_of_evidence.py).
WEIGHT_COLUMNS = {
    "WPLUS": "W+",
    "S_WPLUS": "S_W+",
    "WMINUS": "W-",
    "S_WMINUS": "S_W-",
    "CONTRAST": "Contrast",
    "S_CONTRAST": "S_Contrast",
    "STUDC": "Studentized contrast",
}
GENERALIZED_COLUMNS = {
    "GEN_CLASS": "Generalized class",
    "WEIGHT": "Generalized W+",
    "W_STD": "Generalized S_W+",
}
TOLERANCE = 1e-6
CELL_KM2 = 0.01  # 100 m cells
UNIT_CELL_KM2 = 1.0  # GA's unit cell


# --------------------------------------------------------------------------------------------
# Comparison helpers
# --------------------------------------------------------------------------------------------
def _class_key(values) -> np.ndarray:
    """Class values as int64 keys (eis-toolkit returns them as float32-derived floats)."""
    arr = np.asarray(values, dtype=np.float64)
    keys = np.rint(arr)
    if np.any(np.abs(arr - keys) > 1e-9):
        raise ValueError("non-integer class values; cannot align rows by class")
    return keys.astype(np.int64)


def read_ga_table(path: str) -> pd.DataFrame:
    df = pd.read_csv(path)
    df = df.drop(columns=[c for c in df.columns if c == "" or c.startswith("Unnamed")])
    df["_key"] = _class_key(df["CLASS"])
    return df.set_index("_key", drop=True)


def compare_column(other: pd.Series, ref: pd.Series, tol: float = TOLERANCE) -> dict:
    """Relative error of `other` against `ref` on aligned rows (index = class key).

    Relative error is |other - ref| / |ref| over rows where ref != 0; rows where ref == 0 count as
    differing when other != 0 (their absolute error is reported in max_abs_err and zero_ref_mismatches).
    """
    o = other.astype(float).to_numpy()
    r = ref.astype(float).to_numpy()
    keys = ref.index.to_numpy()
    abs_err = np.abs(o - r)
    nz = r != 0
    rel = np.full(r.shape, np.nan)
    rel[nz] = abs_err[nz] / np.abs(r[nz])
    rel[np.isnan(o) & ~np.isnan(r)] = np.inf  # a NaN where GA has a number is an infinite error
    abs_err = np.where(np.isnan(o) & ~np.isnan(r), np.inf, abs_err)
    zero_mismatch = (~nz) & (abs_err > 0)
    differ = (nz & (rel > tol)) | zero_mismatch | np.isnan(o)
    out = {
        "max_rel_err": float(np.nanmax(rel)) if nz.any() else 0.0,
        "max_abs_err": float(np.nanmax(abs_err)) if len(abs_err) else 0.0,
        "rows_differing": int(differ.sum()),
        "zero_ref_mismatches": int(zero_mismatch.sum()),
    }
    if nz.any() and np.isfinite(out["max_rel_err"]):
        i = int(np.nanargmax(rel))
        out["worst_class"] = int(keys[i])
        out["worst_values"] = {"ga": float(r[i]), "other": float(o[i])}
    return out


def compare_table(other: pd.DataFrame, ga: pd.DataFrame, colmap: dict, gen_colmap: dict | None) -> dict:
    """Compare a table indexed by class key with GA's. colmap: GA column -> other's column."""
    common = ga.index.intersection(other.index)
    res = {
        "rows_ga": int(len(ga)),
        "rows_other": int(len(other)),
        "rows_compared": int(len(common)),
        "classes_only_in_ga": [int(k) for k in ga.index.difference(other.index)],
        "classes_only_in_other": [int(k) for k in other.index.difference(ga.index)],
        "columns": {},
    }
    for ga_col, col in colmap.items():
        if col in other.columns:
            res["columns"][ga_col] = {"column": col, **compare_column(other.loc[common, col], ga.loc[common, ga_col])}
    if gen_colmap:
        gen = {}
        for ga_col, col in gen_colmap.items():
            if col not in other.columns:
                gen[ga_col] = {"column": col, "missing": True}
                continue
            if ga_col == "GEN_CLASS":
                eq = _class_key(other.loc[common, col]) == _class_key(ga.loc[common, ga_col])
                gen[ga_col] = {"column": col, "rows_equal": int(eq.sum()), "rows_differing": int((~eq).sum())}
            else:
                gen[ga_col] = {"column": col, **compare_column(other.loc[common, col], ga.loc[common, ga_col])}
        res["generalized"] = gen
    rels = [c["max_rel_err"] for c in res["columns"].values()]
    res["max_rel_err"] = float(max(rels)) if rels else None
    res["agrees_1e-6"] = bool(
        res["columns"]
        and len(res["columns"]) == len(colmap)
        and not res["classes_only_in_ga"]
        and not res["classes_only_in_other"]
        and all(c["rows_differing"] == 0 for c in res["columns"].values())
    )
    return res


# --------------------------------------------------------------------------------------------
# eis-toolkit's algebra, vectorised (a transcription of _calculate_metrics_for_class in
# eis_toolkit/prediction/weights_of_evidence.py, 1.1.6, without its 4-decimal rounding), used to
# attribute the differences to counting conventions rather than guess at them.
# --------------------------------------------------------------------------------------------
def eis_algebra(A, B, C, D, ga_zero_rule: bool = False) -> dict:
    """ga_zero_rule: GA's B == 0 handling: move 0.99 from D to C; if D < 0.99, treat the row as D = 0."""
    A, B, C, D = (np.asarray(x, dtype=np.float64) for x in (A, B, C, D))
    with np.errstate(divide="ignore", invalid="ignore"):
        pa_num = np.where(B == 0, A - 0.99, A)
        b_adj = np.where(B == 0, 0.99, B)
        pc_num = np.where(D == 0, C - 0.99, C)
        d_adj = np.where(D == 0, 0.99, D)
        if ga_zero_rule:
            moved = (B == 0) & (D >= 0.99)
            pc_num = np.where(moved, C + 0.99, pc_num)
            d_adj = np.where(moved, D - 0.99, d_adj)
            # less than 0.99 unit cells left outside the class: GA treats it as D = 0
            empty = (B == 0) & (D < 0.99)
            pc_num = np.where(empty, C + D - 0.99, pc_num)
            d_adj = np.where(empty, 0.99, d_adj)
        p_a = pa_num / (A + B)
        p_c = pc_num / (C + D)
        w_plus = np.where(p_c != 0, np.log(p_a / p_c), 0.0)
        w_minus = np.log((1 - p_a) / (1 - p_c))
        s_w_plus = np.sqrt(1 / pa_num + 1 / pc_num)
        s_w_minus = np.sqrt(1 / b_adj + 1 / d_adj)
        contrast = w_plus - w_minus
        s_contrast = np.sqrt(s_w_plus**2 + s_w_minus**2)
        studc = contrast / s_contrast
    zero = (A == 0) | (C + D == 0)
    out = {"WPLUS": w_plus, "S_WPLUS": s_w_plus, "WMINUS": w_minus, "S_WMINUS": s_w_minus,
           "CONTRAST": contrast, "S_CONTRAST": s_contrast, "STUDC": studc}
    return {k: np.where(zero, 0.0, v) for k, v in out.items()}


def attribution(eis_df: pd.DataFrame, ga: pd.DataFrame, eis_total_pixels: int, eis_total_deposit_cells: int,
                cumulative: bool) -> dict:
    """Recompute the weights with eis-toolkit's algebra under four counting conventions."""
    common = ga.index.intersection(eis_df.index)
    ga_c = ga.loc[common]
    e_c = eis_df.loc[common]
    # area of the class (cumulative area for the cumulative methods), in km²
    ga_area_km2 = (ga_c["AREA_SQ_KM"] if cumulative else ga_c["CLASS_AREA"]).astype(float).to_numpy()
    ga_total_km2 = float(ga["AREA_SQ_KM"].iloc[-1]) if cumulative else float(ga["CLASS_AREA"].sum())
    ga_pts = ga_c["NO_POINTS"].astype(float).to_numpy()
    ga_total_pts = float(ga["NO_POINTS"].max()) if cumulative else float(ga["NO_POINTS"].sum())
    eis_area_km2 = e_c["Pixel count"].astype(float).to_numpy() * CELL_KM2
    eis_pts = e_c["Deposit count"].astype(float).to_numpy()
    eis_total_km2 = eis_total_pixels * CELL_KM2

    def abcd(pts, total_pts, area_km2, total_km2, unit_km2):
        units, total_units = area_km2 / unit_km2, total_km2 / unit_km2
        A = pts
        B = total_pts - pts
        C = units - pts
        D = (total_units - units) - B
        return A, B, C, D

    variants = {
        "eis_counts_pixel_units": (eis_pts, eis_total_deposit_cells, eis_area_km2, eis_total_km2, CELL_KM2,
                                   "eis-toolkit's own convention (deposit cells, 100 m pixels as units); "
                                   "compared with eis-toolkit's rounded output it checks this transcription"),
        "ga_counts_pixel_units": (ga_pts, ga_total_pts, ga_area_km2, ga_total_km2, CELL_KM2,
                                  "every deposit counted, but 0.01 km² pixels as units: isolates the unit-cell effect"),
        "eis_counts_unit_cell_1km2": (eis_pts, eis_total_deposit_cells, eis_area_km2, eis_total_km2, UNIT_CELL_KM2,
                                      "1 km² unit cell, but deposits counted once per cell: isolates the de-duplication"),
        "ga_counts_unit_cell_1km2": (ga_pts, ga_total_pts, ga_area_km2, ga_total_km2, UNIT_CELL_KM2,
                                     "GA's counting (every deposit, 1 km² unit cell) with eis-toolkit's algebra: "
                                     "what is left is a difference in the formulas themselves"),
        "ga_counts_unit_cell_1km2_ga_zero_rule": (ga_pts, ga_total_pts, ga_area_km2, ga_total_km2, UNIT_CELL_KM2,
                                                  "as above, plus GA's B = 0 rule (C -> C + 0.99 and D -> D - 0.99, "
                                                  "so p_C = (C + 0.99) / (C + D) and S_W- = sqrt(1/0.99 + "
                                                  "1/(D - 0.99)); when D < 0.99 the row is treated as D = 0: "
                                                  "C -> C + D - 0.99, D -> 0.99) instead of eis-toolkit's "
                                                  "(C, D unchanged unless D == 0)"),
    }
    out = {}
    for name, (pts, tot_pts, area, tot_area, unit, desc) in variants.items():
        vals = eis_algebra(*abcd(pts, tot_pts, area, tot_area, unit), ga_zero_rule=name.endswith("ga_zero_rule"))
        recomputed = pd.DataFrame(vals, index=common)
        if name == "eis_counts_pixel_units":
            # against eis-toolkit itself (its output is rounded to 4 decimals)
            errs = {k: float(np.max(np.abs(recomputed[k].to_numpy() - e_c[v].astype(float).to_numpy())))
                    for k, v in WEIGHT_COLUMNS.items()}
            out[name] = {"description": desc, "vs": "eis-toolkit output",
                         "max_abs_err_vs_eis": errs, "consistent_with_4dp_rounding": bool(max(errs.values()) <= 5.01e-5)}
        else:
            cols = {k: compare_column(recomputed[k], ga_c[k]) for k in WEIGHT_COLUMNS}
            out[name] = {"description": desc, "vs": "GA",
                         "max_rel_err": {k: c["max_rel_err"] for k, c in cols.items()},
                         "rows_differing_1e-6": {k: c["rows_differing"] for k, c in cols.items()}}
    # which rows GA and eis count differently
    out["deposit_count_rows_differing"] = [
        {"class": int(k), "ga_points": int(g), "eis_deposit_cells": int(e)}
        for k, g, e in zip(common, ga_pts, eis_pts) if int(g) != int(e)
    ][:50]
    out["area_max_abs_err_km2"] = float(np.max(np.abs(eis_area_km2 - ga_area_km2))) if len(common) else 0.0
    # rows where one of the 0.99 adjustments (B == 0 or D == 0) applies under GA's counting
    A, B, C, D = abcd(ga_pts, ga_total_pts, ga_area_km2, ga_total_km2, UNIT_CELL_KM2)
    out["ga_rows_with_zero_adjustment"] = [int(k) for k, b, d, a in zip(common, B, D, A) if a > 0 and (b == 0 or d == 0)]
    return out


# --------------------------------------------------------------------------------------------
# Benchmark
# --------------------------------------------------------------------------------------------
def run_layer(name: str, args, wofe, rasterio, gpd) -> dict:
    method, weights_type, ref_name = LAYERS[name]
    evidence_path = os.path.join(args.data_dir, f"{name}.tif")
    deposits_path = os.path.join(args.data_dir, args.deposits)
    ga = read_ga_table(os.path.join(args.ref_dir, ref_name))
    cumulative = weights_type in ("ascending", "descending")

    call_times, io_call_times, caught = [], [], []
    df = nr_dep = nr_pix = None
    csv_dir = args.tables_dir or tempfile.mkdtemp(prefix="wofe-eis-")
    os.makedirs(csv_dir, exist_ok=True)
    csv_path = os.path.join(csv_dir, f"{name}_eis.csv")
    arrays = None if args.default_arrays else []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        deposits = gpd.read_file(deposits_path)
        with rasterio.open(evidence_path) as src:
            t1 = time.perf_counter()
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                df, _arrays, _meta, nr_dep, nr_pix = wofe.weights_of_evidence_calculate_weights(
                    src, deposits, weights_type=weights_type,
                    studentized_contrast_threshold=args.threshold, arrays_to_generate=arrays)
            t2 = time.perf_counter()
        df.to_csv(csv_path, index=False)
        t3 = time.perf_counter()
        del _arrays
        call_times.append(t2 - t1)
        io_call_times.append(t3 - t0)
        caught = [f"{x.category.__name__}: {x.message}" for x in w]

    eis_df = df.copy()
    eis_df["_key"] = _class_key(eis_df["Class"])
    eis_df = eis_df.set_index("_key", drop=True).sort_index()

    cmp = compare_table(eis_df, ga, WEIGHT_COLUMNS, GENERALIZED_COLUMNS)
    # counts, which GA states in other units
    common = ga.index.intersection(eis_df.index)
    area_col = "AREA_SQ_KM" if cumulative else "CLASS_AREA"
    counts = {
        "area_km2_vs_ga_" + area_col: compare_column(eis_df.loc[common, "Pixel count"] * CELL_KM2, ga.loc[common, area_col]),
        "deposits_vs_ga_NO_POINTS": compare_column(eis_df.loc[common, "Deposit count"], ga.loc[common, "NO_POINTS"]),
        "eis_total_deposit_cells": int(nr_dep),
        "ga_total_deposits": int(ga["NO_POINTS"].max() if cumulative else ga["NO_POINTS"].sum()),
        "eis_total_pixels": int(nr_pix),
    }
    layer_notes = []
    if weights_type == "categorical":
        n99 = int((_class_key(eis_df["Generalized class"]) == 99).sum())
        layer_notes.append(
            f"categorical generalization: eis-toolkit puts every class with |studentized contrast| < "
            f"{args.threshold} into generalized class 99 ({n99} of {len(eis_df)} classes here) and gives them a "
            f"pooled weight rounded to 4 decimals; GA's categorical table keeps GEN_CLASS = CLASS with "
            f"WEIGHT = WPLUS and W_STD = S_WPLUS for every class, so GEN_CLASS/WEIGHT/W_STD differ by design.")
    return {
        "method": method,
        "eis_weights_type": weights_type,
        "evidence": os.path.relpath(evidence_path, ROOT),
        "reference": os.path.relpath(os.path.join(args.ref_dir, ref_name), ROOT),
        "seconds": min(io_call_times),
        "call_seconds": min(call_times),
        "all_seconds": io_call_times,
        "all_call_seconds": call_times,
        "eis_table_csv": os.path.relpath(csv_path, ROOT) if args.tables_dir else None,
        "warnings": caught,
        "rows_compared": cmp["rows_compared"],
        "max_rel_err": cmp["max_rel_err"],
        "agrees_1e-6": cmp["agrees_1e-6"],
        "comparison": cmp,
        "counts": counts,
        "attribution": attribution(eis_df, ga, nr_pix, nr_dep, cumulative),
        "notes": layer_notes,
    }


GLOBAL_NOTES = [
    "Column mapping (eis-toolkit -> GA): W+ -> WPLUS, S_W+ -> S_WPLUS, W- -> WMINUS, S_W- -> S_WMINUS, "
    "Contrast -> CONTRAST, S_Contrast -> S_CONTRAST, 'Studentized contrast' -> STUDC, 'Generalized class' -> "
    "GEN_CLASS, 'Generalized W+' -> WEIGHT, 'Generalized S_W+' -> W_STD; 'Pixel count' x 0.01 km² -> AREA_SQ_KM "
    "(cumulative: cumulative area) or CLASS_AREA (categorical); 'Deposit count' -> NO_POINTS. Rows are aligned by "
    "class value (eis-toolkit reads the raster as float32 and returns classes as floats; the categorical table "
    "comes back sorted by generalized class, not by class).",
    "Unit cell: eis-toolkit has no unit-cell parameter. It counts raster cells, so its areas are in 100 m pixels "
    "(0.01 km²) where GA/ArcSDM count 1 km² unit cells (AREA_UNITS = km² / 1). N(D), N(T) and the non-deposit "
    "counts C and D therefore differ by a factor of 100, which changes S_W+ and S_W- (1/C and 1/D terms), W- and W+ "
    "slightly, and strongly changes the 0.99-adjusted W-/S_W- of the cumulative rows that contain every deposit.",
    "Deposits: eis-toolkit rasterizes the points (rasterio.features.rasterize, value 1, merge 'replace') and counts "
    "deposit cells, so two or more deposits in one 100 m cell count once (258 points -> 252 deposit cells here); "
    "GA counts every deposit (NO_POINTS sums to 258). Passing a deposit raster instead does not help: only cells "
    "equal to 1 count as deposits, so a cell holding 2 deposits would be dropped entirely.",
    "Rounding: eis-toolkit rounds every metric to 4 decimals (round(metric, 4)) before building its table, so no "
    "column can agree with GA to 1e-6 relative error even with identical counting; the floor is 5e-5 absolute.",
    "Zero handling: both use the ArcSDM 0.99 adjustment and give 0 for every weight of a class with no deposit. "
    "When the class covers every cell (D = 0) both set D = 0.99 and C -> C - 0.99. When no deposit lies outside "
    "the class (B = 0; the cumulative rows that hold all deposits) both set B = 0.99 and A -> A - 0.99, but GA "
    "also moves 0.99 of non-deposit area from outside to inside the class (C -> C + 0.99, D -> D - 0.99, so "
    "p_C = (C + 0.99) / (C + D) and S_W- = sqrt(1/0.99 + 1/(D - 0.99)); and when less than about one unit cell "
    "is left outside the class, GA gives the row the values of the D = 0 row: seen for D = 0.03..0.89 km² in "
    "Dist2Breccia, while D = 1.07 in Dist2Fault takes the C + 0.99 rule; this script uses D < 0.99 as the cut), whereas eis-toolkit keeps C and D: with "
    "GA's counts this alone changes W+ by ~4e-5 and W- by ~3e-4..5e-4 absolute on those rows "
    "(see attribution.ga_counts_unit_cell_1km2 vs ..._ga_zero_rule).",
    "Generalization (cumulative): eis-toolkit's 'max_contrast_if_feasible' (cutoff at the row of maximum contrast if "
    "its studentized contrast >= threshold; class 2 = rows up to the cutoff, 1 = the rest; generalized weight = W+ "
    "of the cutoff row for class 2, W- for class 1) is the same rule as GA's GEN_CLASS/WEIGHT/W_STD; the cutoff row "
    "can still move because the contrasts themselves differ.",
    "The 'attribution' block recomputes the weights with eis-toolkit's own algebra (unrounded) under four counting "
    "conventions and compares them with GA, so each difference is assigned to unit cells, deposit de-duplication "
    "or the formula itself.",
]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="JSON report path")
    p.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", 3)),
                   help="timed repeats per layer, best is reported (default 3 or $BENCH_REPEATS)")
    p.add_argument("--layers", default=",".join(LAYERS), help="comma-separated subset of " + ",".join(LAYERS))
    p.add_argument("--data-dir", default=os.path.join(ROOT, "data", "cloncurry"))
    p.add_argument("--deposits", default="IOCG_Deposits.shp")
    p.add_argument("--ref-dir", default=os.path.join(ROOT, "tests", "fixtures", "ga-reference"))
    p.add_argument("--threshold", type=float, default=1.0,
                   help="studentized contrast threshold for generalization (eis-toolkit default 1)")
    p.add_argument("--tables-dir", help="also keep eis-toolkit's weights tables as CSV here")
    p.add_argument("--default-arrays", action="store_true",
                   help="time eis-toolkit's default call, which also builds per-class rasters of W+, S_W+ "
                        "(and generalized weights); by default arrays_to_generate=[] (table only, like lode weights)")
    p.add_argument("--lode-csv", action="append", default=[], metavar="LAYER=PATH",
                   help="also compare a lode weights CSV (GA column names) with GA's table")
    args = p.parse_args()
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    layers = [x for x in args.layers.split(",") if x]
    for layer in layers:
        if layer not in LAYERS:
            p.error(f"unknown layer {layer}")

    import geopandas as gpd
    import rasterio
    import eis_toolkit
    from eis_toolkit.prediction import weights_of_evidence as wofe
    import_seconds = time.perf_counter() - _T_IMPORT

    report = {
        "tool": "eis-toolkit",
        "eis_toolkit_version": eis_toolkit.__version__,
        "api": "eis_toolkit.prediction.weights_of_evidence.weights_of_evidence_calculate_weights",
        "call": ("weights_of_evidence_calculate_weights(rasterio dataset, GeoDataFrame of deposits, "
                 f"weights_type=..., studentized_contrast_threshold={args.threshold}, arrays_to_generate="
                 f"{'None (default)' if args.default_arrays else '[]'})"),
        "python": platform.python_version(),
        "python_supported_by_eis_toolkit": sys.version_info[:2] in ((3, 9), (3, 10)),
        "packages": {m.__name__: getattr(m, "__version__", "?") for m in (np, pd, gpd, rasterio)},
        "repeats": args.repeats,
        "tolerance_rel": TOLERANCE,
        "timing": ("seconds = best of N wall-clock times for reading the deposits shapefile, opening the raster, the "
                   "weights call and writing its table as CSV (what `lode weights` does, minus process start); "
                   "call_seconds = the weights call alone; import_seconds = Python imports, paid once per process"),
        "import_seconds": import_seconds,
        "layers": {},
        "notes": GLOBAL_NOTES,
    }
    for layer in layers:
        print(f"wofe_eis: {layer} ({LAYERS[layer][1]}), {args.repeats} repeat(s)...", file=sys.stderr, flush=True)
        report["layers"][layer] = run_layer(layer, args, wofe, rasterio, gpd)
        r = report["layers"][layer]
        print(f"wofe_eis: {layer}: {r['seconds']:.3f} s (call {r['call_seconds']:.3f} s), max rel err vs GA "
              f"{r['max_rel_err']:.3g}", file=sys.stderr, flush=True)

    lode = {}
    for spec in args.lode_csv:
        layer, _, path = spec.partition("=")
        if layer not in LAYERS or not path:
            p.error(f"--lode-csv expects LAYER=PATH, got {spec}")
        ga = read_ga_table(os.path.join(args.ref_dir, LAYERS[layer][2]))
        try:
            other = pd.read_csv(path)
            other = other.drop(columns=[c for c in other.columns if c == "" or c.startswith("Unnamed")])
            if "CLASS" not in other.columns:
                raise ValueError(f"no CLASS column (columns: {list(other.columns)})")
            other["_key"] = _class_key(other["CLASS"])
            other = other.set_index("_key", drop=True)
            same = {c: c for c in WEIGHT_COLUMNS if c in other.columns}
            for c in ("AREA_SQ_KM", "AREA_UNITS", "CLASS_AREA", "NO_POINTS"):
                if c in other.columns:
                    same[c] = c
            gen = {c: c for c in GENERALIZED_COLUMNS if c in other.columns}
            res = compare_table(other, ga, same, gen)
            res["agrees_1e-6"] = bool(res["agrees_1e-6"] and all(c in other.columns for c in WEIGHT_COLUMNS))
            lode[layer] = res
        except Exception as e:  # report, do not fail the benchmark
            lode[layer] = {"error": f"{type(e).__name__}: {e}", "agrees_1e-6": False, "max_rel_err": None}
    if lode:
        report["lode_vs_ga"] = lode

    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2, allow_nan=True, default=_json_default)
        f.write("\n")
    return 0


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    raise TypeError(type(o))


if __name__ == "__main__":
    sys.exit(main())
