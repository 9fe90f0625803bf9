#!/usr/bin/env bash
# `make bench` entry point: benchmarks lode against peer tools. See benches/README.md.
#
#   bash benches/run.sh [SECTION...]     # default: every section in SECTIONS
#
# Environment:
#   BENCH_REPEATS     timed repeats per measurement, best is reported (default 3)
#   BENCH_SKIP_BUILD  set to 1 to skip `cargo build --release` (e.g. when make already built lode)
#   CARGO             cargo binary (default cargo)
#   BENCH_LODE        lode binary to time (default target/release/lode)
#   BENCH_WOFE_LAYERS subset of the wofe layers, e.g. "FaultDensity StratNo" (default: all three)
#
# Each section is a function bench_<name> that writes benches/out/<name>.json and prints a table;
# add a section by writing such a function and appending its name to SECTIONS.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECTIONS=(wofe memory pipeline evidence models cluster)
REPEATS="${BENCH_REPEATS:-3}"
OUT="benches/out"
LODE="${BENCH_LODE:-target/release/lode}"
VENV="${BENCH_VENV:-$ROOT/.venv-bench}"
PY="$VENV/bin/python"
DATA="data/cloncurry"

log() { echo "bench: $*" >&2; }

# best_of N LOGFILE CMD...: runs CMD N times, prints the best wall-clock seconds; then every time
# on a second line. Output of CMD goes to LOGFILE. Returns CMD's status on failure.
best_of() {
  local n="$1" logf="$2"; shift 2
  local times=() t0 t1 i
  : >"$logf"
  for ((i = 0; i < n; i++)); do
    t0=$(date +%s%N)
    "$@" >>"$logf" 2>&1 || return $?
    t1=$(date +%s%N)
    times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", (b - a) / 1e9 }')")
  done
  printf '%s\n' "${times[@]}" | sort -g | head -n1
  echo "${times[*]}"
}

build_lode() {
  if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
    log "building lode (cargo build --release)"
    "${CARGO:-cargo}" build --release --quiet
  fi
  [ -x "$LODE" ] || { log "ERROR: $LODE not found after the build"; exit 1; }
}

# ---------------------------------------------------------------------------------------------
# Section wofe: weights of evidence, lode vs eis-toolkit, on GA's Cloncurry rasters, both
# compared with GA's published Calculate Weights tables.
# ---------------------------------------------------------------------------------------------
WOFE_LAYERS=("Dist2Breccia:ascending" "FaultDensity:descending" "StratNo:categorical")
if [ -n "${BENCH_WOFE_LAYERS:-}" ]; then
  _wofe_sel=()
  for _l in ${BENCH_WOFE_LAYERS}; do
    for _s in "${WOFE_LAYERS[@]}"; do [ "${_s%%:*}" = "$_l" ] && _wofe_sel+=("$_s"); done
  done
  WOFE_LAYERS=("${_wofe_sel[@]}")
fi

bench_wofe() {
  local dir="$OUT/wofe" lode_json="$OUT/wofe/lode-times.json" eis_json="$OUT/wofe/eis.json"
  mkdir -p "$dir/lode" "$dir/eis"
  local entries=() lode_args=() layers=() spec layer method csv res best all status
  [ ${#WOFE_LAYERS[@]} -gt 0 ] || { log "wofe: no layer selected (BENCH_WOFE_LAYERS=${BENCH_WOFE_LAYERS:-})"; return 1; }
  for spec in "${WOFE_LAYERS[@]}"; do
    layer="${spec%%:*}" method="${spec##*:}"
    csv="$dir/lode/$layer.csv"
    layers+=("$layer")
    log "wofe: lode weights $layer ($method), best of $REPEATS"
    status=0
    res="$(best_of "$REPEATS" "$dir/lode/$layer.log" \
      "$LODE" weights --evidence "$DATA/$layer.tif" --deposits "$DATA/IOCG_Deposits.shp" \
      --method "$method" --unit-cell-km2 1 --out "$csv")" || status=$?
    if [ "$status" -eq 0 ]; then
      best="$(sed -n 1p <<<"$res")" all="$(sed -n 2p <<<"$res")"
      entries+=("{\"layer\": \"$layer\", \"method\": \"$method\", \"seconds\": $best, \"all_seconds\": [${all// /, }], \"csv\": \"$csv\"}")
      lode_args+=(--lode-csv "$layer=$csv")
    else
      log "wofe: lode failed on $layer (exit $status); last lines of $dir/lode/$layer.log:"
      tail -n 5 "$dir/lode/$layer.log" >&2 || true
      entries+=("{\"layer\": \"$layer\", \"method\": \"$method\", \"error\": \"exit status $status, see $dir/lode/$layer.log\"}")
    fi
  done
  (IFS=,; echo "[${entries[*]}]") >"$lode_json"

  log "wofe: eis-toolkit, best of $REPEATS (Dist2Breccia takes minutes per repeat)"
  "$PY" benches/wofe_eis.py --out "$eis_json" --repeats "$REPEATS" --tables-dir "$dir/eis" \
    --layers "$(IFS=,; echo "${layers[*]}")" "${lode_args[@]}"

  "$PY" - "$lode_json" "$eis_json" "$OUT/wofe.json" "$REPEATS" <<'EOF'
import json, sys
lode_path, eis_path, out_path, repeats = sys.argv[1:5]
lode = {e["layer"]: e for e in json.load(open(lode_path))}
eis = json.load(open(eis_path))
lode_ga = eis.pop("lode_vs_ga", {})
rows = []
for layer, e in eis["layers"].items():
    l = lode.get(layer, {})
    ls, es = l.get("seconds"), e["seconds"]
    lg = lode_ga.get(layer, {})
    rows.append({
        "layer": layer, "method": e["method"],
        "lode_seconds": ls, "eis_seconds": es, "eis_call_seconds": e["call_seconds"],
        "ratio_eis_over_lode": (es / ls) if ls else None,
        "eis_agrees_with_ga_1e-6": e["agrees_1e-6"], "eis_max_rel_err": e["max_rel_err"],
        "lode_agrees_with_ga_1e-6": lg.get("agrees_1e-6") if lg else None,
        "lode_max_rel_err": lg.get("max_rel_err") if lg else None,
        "lode_error": l.get("error") or lg.get("error"),
    })
json.dump({"section": "wofe", "repeats": int(repeats),
           "summary": rows, "lode": {"runs": lode, "vs_ga": lode_ga}, "eis_toolkit": eis},
          open(out_path, "w"), indent=2)

def f(x, fmt):
    return "n/a" if x is None else format(x, fmt)
def yn(ok, err):
    return "n/a" if ok is None else ("yes" if ok else "no") + f" ({f(err, '.2g')})"
hdr = ("layer", "method", "lode s", "eis-toolkit s", "eis/lode", "eis = GA (max rel err)", "lode = GA (max rel err)")
table = [hdr] + [(r["layer"], r["method"], f(r["lode_seconds"], ".3f"), f(r["eis_seconds"], ".3f"),
                  f(r["ratio_eis_over_lode"], ".1f") + ("x" if r["ratio_eis_over_lode"] else ""),
                  yn(r["eis_agrees_with_ga_1e-6"], r["eis_max_rel_err"]),
                  yn(r["lode_agrees_with_ga_1e-6"], r["lode_max_rel_err"])) for r in rows]
w = [max(len(row[i]) for row in table) for i in range(len(hdr))]
print(f"\nweights of evidence, Cloncurry (best of {repeats}; 'agrees' = every weight column within 1e-6 relative error of GA's table)")
for i, row in enumerate(table):
    print("  ".join(c.ljust(w[j]) if j < 2 else c.rjust(w[j]) for j, c in enumerate(row)))
    if i == 0:
        print("  ".join("-" * x for x in w))
print(f"eis-toolkit {eis['eis_toolkit_version']}; details in {out_path}")
EOF
  # fail the section if lode failed on any layer (after printing what was measured)
  ! grep -q '"error"' "$lode_json"
}

# ---------------------------------------------------------------------------------------------
# Section memory: peak RSS of `lode run` at growing grid sizes (streaming keeps it flat).
# ---------------------------------------------------------------------------------------------
bench_memory() {
  BENCH_LODE="$LODE" bash benches/memory.sh
}

# Section pipeline: the demo end to end at 3 M, 50 M and 200 M cells against GDAL's I/O floor
# (benches/pipeline.sh; the 200 M point takes minutes).
bench_pipeline() {
  BENCH_LODE="$LODE" bash benches/pipeline.sh
}

# Section evidence (10000 x 10000 grids: several minutes; BENCH_EVIDENCE_SIZES picks sizes):
# `bash benches/run.sh evidence`, see benches/evidence.sh.
source "$ROOT/benches/evidence.sh"

# ---------------------------------------------------------------------------------------------
# Section models: tree models vs scikit-learn, map prediction vs Pyspatialml (benches/models.sh).
# ---------------------------------------------------------------------------------------------
bench_models() {
  BENCH_SKIP_BUILD=1 bash benches/models.sh
}

# ---------------------------------------------------------------------------------------------
# Section cluster: one `lode run` against the same scene as a tiled run on a single-node SLURM
# started here (benches/cluster.sh; 400 M cells: about 35 minutes, 13 of them generating the
# scene, which is kept for the next run). Needs root and the SLURM packages (make test-deps).
# ---------------------------------------------------------------------------------------------
bench_cluster() {
  bash benches/cluster.sh | tee "$OUT/cluster.txt"
}

main() {
  local sections=("$@") s
  [ ${#sections[@]} -gt 0 ] || sections=("${SECTIONS[@]}")
  for s in "${sections[@]}"; do
    declare -F "bench_$s" >/dev/null || { log "unknown section: $s (known: ${SECTIONS[*]})"; exit 2; }
  done
  bash benches/setup-venv.sh
  build_lode
  mkdir -p "$OUT"
  local rc=0
  for s in "${sections[@]}"; do
    "bench_$s" || { rc=1; log "section $s failed"; }
  done
  return "$rc"
}

main "$@"
