#!/usr/bin/env bash
# Section `models` of the benchmarks (run.sh can call it: `bash benches/models.sh`).
#  1. Tabular: lode's random forest and gradient boosting vs scikit-learn's
#     RandomForestClassifier and HistGradientBoostingClassifier, fit + predict time and test
#     AUC on the same 200k x 20 training / 50k test rows (benches/models_data.py).
#  2. Maps: predicting a 16-megapixel, 8-band stack (lode synth 4000 x 4000) with a
#     100-tree forest, lode vs Pyspatialml's predict_proba, wall time and peak memory
#     (/usr/bin/time -v).
# Results: benches/out/models/*.json. Needs PyPI the first time (venv .venv-models).
# BENCH_MODELS_MAPS=0 runs the tabular part only; BENCH_TABULAR_ONLY=rf|gbt one model family.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="benches/out/models"
VENV="${BENCH_MODELS_VENV:-$ROOT/.venv-models}"
PY="$VENV/bin/python"
LODE="${BENCH_LODE:-target/release/lode}"
SIZE="${BENCH_MAP_SIZE:-4000}"
mkdir -p "$OUT"
log() { echo "bench models: $*" >&2; }

if [ ! -x "$PY" ] || ! "$PY" -c "import sklearn, pyspatialml" 2>/dev/null; then
  log "creating $VENV (numpy, scikit-learn, pyspatialml from PyPI)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q numpy scikit-learn pyspatialml
fi
[ "${BENCH_SKIP_BUILD:-0}" = 1 ] || cargo build --release --quiet

# 1. Tabular.
"$PY" benches/models_data.py "$OUT/data" > "$OUT/data.json"
log "lode tree models on 200k x 20"
cargo bench --quiet --bench models_tabular -- "$OUT/data" > "$OUT/tabular-lode.json"
log "scikit-learn on the same rows"
"$PY" benches/models_sklearn.py "$OUT/data" > "$OUT/tabular-sklearn.json"

# 2. Map prediction over a 16-megapixel, 8-band stack.
if [ "${BENCH_MODELS_MAPS:-1}" = 1 ]; then
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
log "pyspatialml predict_proba over the same stack"
FILES=(); for b in "${BANDS[@]}"; do FILES+=("$b.tif"); done
/usr/bin/time -v "$PY" benches/models_pyspatialml.py "$SCENE" "$OUT/pyspatialml.tif" "${FILES[@]}" > "$OUT/map-pyspatialml.json" 2> "$OUT/map-pyspatialml.time"
fi

"$PY" - "$OUT" "${BENCH_MODELS_MAPS:-1}" <<'PYEOF'
import json, re, sys
from pathlib import Path
o = Path(sys.argv[1])
meta = json.loads((o / "data.json").read_text())
rows = json.loads((o / "tabular-lode.json").read_text()) + json.loads((o / "tabular-sklearn.json").read_text())
print(f"tabular 200k x 20 (AUC ceiling {meta['auc_ceiling']:.3f})")
print(f"{'model':80s} {'fit s':>8s} {'predict s':>10s} {'AUC':>7s} {'rounds':>7s}")
for r in rows:
    print(f"{r['model']:80s} {r['fit_s']:8.2f} {r['predict_s']:10.2f} {r['auc']:7.4f} {r.get('n_iter', ''):>7}")
if sys.argv[2] != "1":
    sys.exit(0)
def peak(f):
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", (o / f).read_text())
    return int(m.group(1)) / 1024
lm = json.loads((o / "lode-out" / "metrics.json").read_text())
lp = dict(lm["timings_s"])["predict"]
py = json.loads((o / "map-pyspatialml.json").read_text())
cells = lm["prediction"]["scored_cells"]
print(f"\nmap prediction, {cells} cells x 8 bands, 100-tree forest")
print(f"lode         predict {lp:8.1f} s ({cells / lp / 1e6:.2f} Mcells/s), peak {peak('map-lode.time'):8.0f} MiB (whole run)")
print(f"pyspatialml  predict {py['predict_s']:8.1f} s ({py['cells'] / py['predict_s'] / 1e6:.2f} Mcells/s), peak {peak('map-pyspatialml.time'):8.0f} MiB (whole script)")
print(f"ratio pyspatialml / lode predict time: {py['predict_s'] / lp:.2f}")
PYEOF
