#!/usr/bin/env bash
# Section `models` of the benchmarks (run.sh can call it: `bash benches/models.sh`).
#  1. Tabular: lode's random forest and gradient boosting vs scikit-learn's
#     RandomForestClassifier and HistGradientBoostingClassifier, fit + predict time and test
#     AUC on the same 200k x 20 training / 50k test rows (benches/models_data.py).
#  2. Maps: predicting a 16-megapixel, 8-band stack (lode synth 4000 x 4000) with a
#     100-tree forest, lode vs Pyspatialml's predict_proba, wall time and peak memory
#     (/usr/bin/time -v).
# Results: benches/out/models/*.json. Needs PyPI the first time (venv .venv-models).
# BENCH_MODELS_PARTS="tabular map" (default) picks the parts (BENCH_MODELS_MAPS=0 means
# "tabular"); BENCH_TABULAR_ONLY=rf|gbt one model family; BENCH_MAP_SIZE the map edge.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="benches/out/models"
VENV="${BENCH_MODELS_VENV:-$ROOT/.venv-models}"
PY="$VENV/bin/python"
LODE="${BENCH_LODE:-target/release/lode}"
SIZE="${BENCH_MAP_SIZE:-4000}"
DEFAULT_PARTS="tabular map"; [ "${BENCH_MODELS_MAPS:-1}" = 1 ] || DEFAULT_PARTS="tabular"
PARTS=" ${BENCH_MODELS_PARTS:-$DEFAULT_PARTS} "
mkdir -p "$OUT"
log() { echo "bench models: $*" >&2; }

if [ ! -x "$PY" ] || ! "$PY" -c "import sklearn, pyspatialml" 2>/dev/null; then
  log "creating $VENV (numpy, scikit-learn, pyspatialml from PyPI)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy scikit-learn pyspatialml
fi
[ "${BENCH_SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet --bin lode --example forest_visits

# 1. Tabular.
if [[ "$PARTS" == *" tabular "* ]]; then
"$PY" benches/models_data.py "$OUT/data" > "$OUT/data.json"
log "lode tree models on 200k x 20"
cargo bench --quiet --bench models_tabular -- "$OUT/data" > "$OUT/tabular-lode.json"
log "scikit-learn on the same rows"
"$PY" benches/models_sklearn.py "$OUT/data" > "$OUT/tabular-sklearn.json"
fi

# 2. Map prediction over a 16-megapixel, 8-band stack.
if [[ "$PARTS" == *" map "* ]]; then
SCENE="$OUT/scene"
if [ ! -f "$SCENE/truth.tif" ]; then
  log "lode synth $SIZE x $SIZE"
  "$LODE" -q synth --cols "$SIZE" --rows "$SIZE" --seed 3 --intercept -11 "$SCENE"
fi
BANDS=(granite_dist magnetic alteration noise_white noise_smooth noise_smooth2 truth granite_dist)
{
  sed -n '/^\[project\]/,/^\[\[evidence\]\]/p' "$SCENE/scene.toml" | sed '$d' | sed "s#path = \"#path = \"$ROOT/$SCENE/#"
  for i in "${!BANDS[@]}"; do
    printf '[[evidence]]\nname = "b%d_%s"\nkind = "raster"\npath = "%s/%s/%s.tif"\n\n' "$i" "${BANDS[$i]}" "$ROOT" "$SCENE" "${BANDS[$i]}"
  done
  printf '[model]\nkind = "random_forest"\nn_trees = 100\n\n[output]\ndir = "%s/%s/lode-out"\n' "$ROOT" "$OUT"
} > "$OUT/map.toml"
log "lode run (100-tree forest) over the 8-band stack"
/usr/bin/time -v "$LODE" -q run "$OUT/map.toml" 2> "$OUT/map-lode.time"
# The compute floor: split nodes the saved forest visits per cell (every
# BENCH_VISIT_STRIDE-th valid cell of each window, default 4, walked on its raw values).
log "counting the split nodes lode's forest visits (every ${BENCH_VISIT_STRIDE:-4}th cell)"
target/release/examples/forest_visits "$OUT/map.toml" "$OUT/lode-out/model.json" "${BENCH_VISIT_STRIDE:-4}" > "$OUT/map-visits.json"
nproc > "$OUT/map-cores.txt"
log "pyspatialml predict_proba over the same stack"
FILES=(); for b in "${BANDS[@]}"; do FILES+=("$b.tif"); done
/usr/bin/time -v "$PY" benches/models_pyspatialml.py "$SCENE" "$OUT/pyspatialml.tif" "${FILES[@]}" > "$OUT/map-pyspatialml.json" 2> "$OUT/map-pyspatialml.time"
fi

"$PY" - "$OUT" "$PARTS" <<'PYEOF'
import json, re, sys
from pathlib import Path
o, parts = Path(sys.argv[1]), sys.argv[2].split()
if "tabular" in parts:
    meta = json.loads((o / "data.json").read_text())
    rows = json.loads((o / "tabular-lode.json").read_text()) + json.loads((o / "tabular-sklearn.json").read_text())
    print(f"tabular 200k x 20 (AUC ceiling {meta['auc_ceiling']:.3f})")
    print(f"{'model':80s} {'fit s':>8s} {'predict s':>10s} {'AUC':>7s} {'rounds':>7s}")
    for r in rows:
        print(f"{r['model']:80s} {r['fit_s']:8.2f} {r['predict_s']:10.2f} {r['auc']:7.4f} {r.get('n_iter', ''):>7}")
if "map" not in parts:
    sys.exit(0)
def time_v(f):
    t = (o / f).read_text()
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", t).group(1)) / 1024
    cpu = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", t).group(1)) for k in ("User", "System"))
    h, m, sec = ([0] + re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", t).group(1).split(":"))[-3:]
    return peak, cpu, int(h) * 3600 + int(m) * 60 + float(sec)
lm = json.loads((o / "lode-out" / "metrics.json").read_text())
timings = dict(lm["timings_s"])
lp = timings["predict"]
model = json.loads((o / "lode-out" / "model.json").read_text())
trees = model["kind"]["Trees"]["members"][0]["Forest"]["trees"]
def depths(nodes):
    out, stack = [], [(0, 0)]
    while stack:
        i, d = stack.pop()
        if nodes[i]["feature"] == 4294967295:
            out.append(d)
        else:
            stack += [(i + 1, d + 1), (nodes[i]["right"], d + 1)]
    return out
ld = [d for t in trees for d in depths(t["nodes"])]
py = json.loads((o / "map-pyspatialml.json").read_text())
cells = lm["prediction"]["scored_cells"]
lpeak, lcpu, lwall = time_v("map-lode.time")
ppeak, pcpu, pwall = time_v("map-pyspatialml.time")
lt, pt = cells / lp / 1e6, py["cells"] / py["predict_s"] / 1e6
print(f"\nmap prediction, {cells} cells x 8 bands")
print(f"forests: lode {len(trees)} trees, {sum(len(t['nodes']) for t in trees) / len(trees):.0f} nodes, leaf depth mean {sum(ld) / len(ld):.1f} max {max(ld)}; "
      f"scikit-learn {py['trees']} trees, {py['nodes_mean']:.0f} nodes, leaf depth mean {py['leaf_depth_mean']:.1f} max {py['leaf_depth_max']}")
print(f"lode         predict {lp:8.1f} s ({lt:.2f} Mcells/s; windows + both COGs), whole run {lwall:7.1f} s wall {lcpu:7.1f} s CPU, peak {lpeak:6.0f} MiB")
print(f"pyspatialml  predict {py['predict_s']:8.1f} s ({pt:.2f} Mcells/s; predict_proba to {py['output']}), whole script {pwall:7.1f} s wall {pcpu:7.1f} s CPU, peak {ppeak:6.0f} MiB")
print(f"lode stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in lm["timings_s"]))
print(f"throughput ratio lode / pyspatialml (predict): {lt / pt:.2f}x (goal >= 3x); peak memory lode / pyspatialml: {lpeak / ppeak:.2f}")
visits = json.loads((o / "map-visits.json").read_text())
cores = int((o / "map-cores.txt").read_text())
floor = visits["visits_all_cells"] / cores * 1e-9
print(f"compute floor: {visits['visits_per_cell']:.0f} split nodes visited per cell ({visits['visits_per_cell_per_tree']:.2f} per tree; "
      f"counted on {visits['cells_walked']} cells, every {visits['stride']}th) x {cells} cells / {cores} cores x 1 ns = {floor:.1f} s; "
      f"lode predict / floor: {lp / floor:.2f}x (goal <= 1.3x); lode CPU ns per visit (whole run CPU / visits): {lcpu / visits['visits_all_cells'] * 1e9:.2f}")
json.dump({"cells": cells, "visits": visits, "cores": cores, "compute_floor_s": floor, "lode_over_floor": lp / floor, "lode_predict_s": lp, "lode_mcells_s": lt, "lode_peak_mib": lpeak, "lode_wall_s": lwall, "lode_cpu_s": lcpu,
           "lode_timings_s": lm["timings_s"], "pyspatialml": py, "pyspatialml_mcells_s": pt, "pyspatialml_peak_mib": ppeak,
           "pyspatialml_wall_s": pwall, "pyspatialml_cpu_s": pcpu, "throughput_ratio": lt / pt}, open(o / "map-summary.json", "w"), indent=2)
PYEOF
