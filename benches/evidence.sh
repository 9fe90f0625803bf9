#!/usr/bin/env bash
# Section `evidence` of the benchmarks (benches/run.sh can call bench_evidence; also runs alone):
#   bash benches/evidence.sh                      # sizes 10000 and 5000 (cells per side)
#   BENCH_EVIDENCE_SIZES="2000 4000" bash benches/evidence.sh
#
# On a generated square grid of 10 m cells in EPSG:7845 with BENCH_EVIDENCE_LINES random
# lines (default 3000) and BENCH_EVIDENCE_POINTS samples (default 10000):
#   distance: lode `distance` method = "raster" vs gdal_rasterize + gdal_proximity.py
#             (same rasterized input, distances in metres), and lode method = "exact";
#   idw:      lode `interpolate` (power 2, 12 nearest, radius 2000 m) vs
#             gdal_grid invdistnn with the same parameters (only for sizes up to
#             BENCH_EVIDENCE_GDAL_GRID_MAX, default 1000: gdal_grid is very slow).
# Then eis-toolkit (the Python peer, venv .venv-bench from benches/setup-venv.sh) on the inputs
# of the largest size, on a coarser grid over the same bounds (BENCH_EVIDENCE_EIS_CELLS cells per
# side, default 500; 0 skips it: its brute force does not finish at 10000 x 10000): its exact
# distance to the lines against lode `method = "exact"`, its IDW (every sample within 2000 m)
# against lode with max_points large enough to take them all (benches/evidence_eis.py).
# Reports wall seconds, CPU seconds (user + system), peak RSS (/usr/bin/time -v) and the largest
# difference from the peer; writes benches/out/evidence.json. Only ratios measured in the same
# run mean anything.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
EV_OUT="benches/out/evidence"
mkdir -p "$EV_OUT"
SIZES="${BENCH_EVIDENCE_SIZES:-10000 5000}"
NLINES="${BENCH_EVIDENCE_LINES:-3000}"
NPOINTS="${BENCH_EVIDENCE_POINTS:-10000}"
# gdal_grid invdistnn took 59 s for 1000 x 1000 cells here: it only runs up to this size.
GDAL_GRID_MAX="${BENCH_EVIDENCE_GDAL_GRID_MAX:-1000}"
EIS_CELLS="${BENCH_EVIDENCE_EIS_CELLS:-500}"
EIS_PY="${BENCH_VENV:-$ROOT/.venv-bench}/bin/python"
PY=/usr/bin/python3   # Debian's python3-gdal
X0=650000; Y1=-2300000; CELL=10

# time_it DIR NAME CMD...: wall seconds, CPU seconds (user + system) and peak RSS (MB) from
# /usr/bin/time -v; the command's output goes to DIR/NAME.log.
time_it() {
  local d="$1" name="$2"; shift 2
  /usr/bin/time -v "$@" >"$d/$name.log" 2>&1 || { echo "bench: $name failed, see $d/$name.log" >&2; return 1; }
  local wall cpu rss
  wall=$(grep "Elapsed (wall clock)" "$d/$name.log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.2f", s }' "$d/$name.log")
  rss=$(grep "Maximum resident set size" "$d/$name.log" | awk '{printf "%.0f", $NF/1024}')
  echo "$wall $cpu $rss"
}

bench_evidence() {
  "${CARGO:-cargo}" build --release --quiet --example feature_map
  local ex="target/release/examples/feature_map" results=()
  for n in $SIZES; do
    local d="$EV_OUT/n$n" ext=$((n * CELL))
    mkdir -p "$d"
    "$PY" - "$d" "$n" "$NLINES" "$NPOINTS" <<'PYEOF'
import json, random, sys
d, n, nl, npts = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
X0, Y1, CELL = 650000.0, -2300000.0, 10.0
ext = n * CELL
rnd = random.Random(42)
crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::7845"}}
feats = []
for _ in range(nl):
    x, y = X0 + rnd.uniform(0, ext), Y1 - rnd.uniform(0, ext)
    pts = [[x, y]]
    for _ in range(3):
        x += rnd.uniform(-0.02, 0.02) * ext; y += rnd.uniform(-0.02, 0.02) * ext
        pts.append([x, y])
    feats.append({"type": "Feature", "properties": {}, "geometry": {"type": "LineString", "coordinates": pts}})
json.dump({"type": "FeatureCollection", "crs": crs, "features": feats}, open(f"{d}/lines.geojson", "w"))
feats = []
for _ in range(npts):
    x, y = X0 + rnd.uniform(0, ext), Y1 - rnd.uniform(0, ext)
    feats.append({"type": "Feature", "properties": {"v": 10 + (x - X0) / ext * 50 + rnd.uniform(0, 5)},
                  "geometry": {"type": "Point", "coordinates": [x, y]}})
json.dump({"type": "FeatureCollection", "crs": crs, "features": feats}, open(f"{d}/samples.geojson", "w"))
json.dump({"type": "FeatureCollection", "crs": crs, "features": feats[:1]}, open(f"{d}/deposits.geojson", "w"))
PYEOF
    cat >"$d/c.toml" <<TOML
[project]
name = "bench"
[grid]
crs = "EPSG:7845"
bounds = [$X0, $((Y1 - ext)), $((X0 + ext)), $Y1]
cell_size = $CELL
[labels]
path = "deposits.geojson"
[[evidence]]
name = "raster"
kind = "distance"
path = "lines.geojson"
method = "raster"
[[evidence]]
name = "exact"
kind = "distance"
path = "lines.geojson"
[[evidence]]
name = "idw"
kind = "interpolate"
path = "samples.geojson"
attribute = "v"
search_radius = 2000.0
max_points = 12
[output]
dir = "out"
TOML
    local te="$X0 $((Y1 - ext)) $((X0 + ext)) $Y1"
    read -r gr_s gr_c gr_m < <(time_it "$d" gdal_rasterize gdal_rasterize -q -burn 1 -ot Byte -tr $CELL $CELL -te $te -co TILED=YES "$d/lines.geojson" "$d/burnt.tif")
    read -r gp_s gp_c gp_m < <(time_it "$d" gdal_proximity gdal_proximity.py -q -distunits GEO -ot Float32 -values 1 -co TILED=YES -co COMPRESS=ZSTD "$d/burnt.tif" "$d/proximity.tif")
    read -r lr_s lr_c lr_m < <(time_it "$d" lode_raster "$ex" "$d/c.toml" raster "$d/lode_raster.tif")
    read -r le_s le_c le_m < <(time_it "$d" lode_exact "$ex" "$d/c.toml" exact "$d/lode_exact.tif")
    local gg_s=null gg_c=null gg_m=null diff_idw="not run (size > $GDAL_GRID_MAX)"
    [ "$n" -le "$GDAL_GRID_MAX" ] && read -r gg_s gg_c gg_m < <(time_it "$d" gdal_grid gdal_grid -q -a invdistnn:power=2:radius=2000:max_points=12:nodata=-9999 -zfield v -txe $X0 $((X0 + ext)) -tye $Y1 $((Y1 - ext)) -outsize $n $n -ot Float32 -co TILED=YES "$d/samples.geojson" "$d/gdal_grid.tif")
    read -r li_s li_c li_m < <(time_it "$d" lode_idw "$ex" "$d/c.toml" idw "$d/lode_idw.tif")
    local diff_prox
    diff_prox=$("$PY" -c "
from osgeo import gdal; import numpy as np
a = gdal.Open('$d/lode_raster.tif').ReadAsArray().astype('f8'); b = gdal.Open('$d/proximity.tif').ReadAsArray().astype('f8')
d = a - b
print(float(np.abs(d).max()), int((np.abs(d) > 1e-3).sum()), int((d > 1e-3).sum()))")
    [ "$n" -le "$GDAL_GRID_MAX" ] && diff_idw=$("$PY" -c "
from osgeo import gdal; import numpy as np
a = gdal.Open('$d/lode_idw.tif').ReadAsArray().astype('f8'); b = gdal.Open('$d/gdal_grid.tif').ReadAsArray().astype('f8')
m = (a != -9999) & (b != -9999)
print(float(np.abs(a[m] - b[m]).max()), int((a != -9999).sum() - m.sum()), int((b != -9999).sum() - m.sum()))")
    local g_total
    g_total=$(awk -v a="$gr_s" -v b="$gp_s" 'BEGIN { print a + b }')
    printf '\n== %s x %s cells, %s lines, %s samples ==\n' "$n" "$n" "$NLINES" "$NPOINTS"
    printf '%-44s %9s %9s %9s\n' tool seconds cpu_s peak_MB
    printf '%-44s %9s %9s %9s\n' "gdal_rasterize" "$gr_s" "$gr_c" "$gr_m" "gdal_proximity.py" "$gp_s" "$gp_c" "$gp_m" \
      "lode distance method=raster" "$lr_s" "$lr_c" "$lr_m" "lode distance method=exact" "$le_s" "$le_c" "$le_m" \
      "gdal_grid invdistnn" "$gg_s" "$gg_c" "$gg_m" "lode interpolate (IDW)" "$li_s" "$li_c" "$li_m"
    printf 'ratio lode raster / (gdal_rasterize + gdal_proximity): %s\n' "$(awk -v a="$lr_s" -v b="$g_total" 'BEGIN { printf "%.2f", a / b }')"
    [ "$n" -le "$GDAL_GRID_MAX" ] && printf 'ratio lode IDW / gdal_grid invdistnn: %s\n' "$(awk -v a="$li_s" -v b="$gg_s" 'BEGIN { printf "%.2f", a / b }')"
    printf 'largest |lode raster - gdal_proximity| (m), cells differing by > 1 mm, of which lode larger: %s\n' "$diff_prox"
    printf 'largest |lode IDW - gdal_grid| where both have data, cells only lode / only gdal_grid has: %s\n' "$diff_idw"
    results+=("{\"n\": $n, \"gdal_rasterize_s\": $gr_s, \"gdal_rasterize_cpu_s\": $gr_c, \"gdal_proximity_s\": $gp_s, \"gdal_proximity_cpu_s\": $gp_c, \"gdal_proximity_mb\": $gp_m, \"lode_raster_s\": $lr_s, \"lode_raster_cpu_s\": $lr_c, \"lode_raster_mb\": $lr_m, \"lode_exact_s\": $le_s, \"lode_exact_cpu_s\": $le_c, \"lode_exact_mb\": $le_m, \"gdal_grid_s\": $gg_s, \"gdal_grid_mb\": $gg_m, \"lode_idw_s\": $li_s, \"lode_idw_cpu_s\": $li_c, \"lode_idw_mb\": $li_m, \"diff_proximity\": \"$diff_prox\"}")
  done
  EIS_JSON=null
  [ "$EIS_CELLS" -gt 0 ] && { bench_evidence_eis || return 1; }
  (IFS=,; echo "{\"sizes\": [${results[*]}], \"eis_toolkit\": $EIS_JSON}") >"benches/out/evidence.json"
}

# eis-toolkit against lode on the inputs of the largest size, on a grid of EIS_CELLS cells per
# side over the same bounds; sets EIS_JSON.
bench_evidence_eis() {
  local nref=0 n
  for n in $SIZES; do [ "$n" -gt "$nref" ] && nref=$n; done
  local src="$EV_OUT/n$nref" d="$EV_OUT/eis" ext=$((nref * CELL)) m="$EIS_CELLS"
  if [ $((ext % m)) -ne 0 ]; then
    echo "bench: BENCH_EVIDENCE_EIS_CELLS=$m does not divide the $ext m extent" >&2
    return 1
  fi
  local cell=$((ext / m)) bounds="$X0 $((Y1 - ext)) $((X0 + ext)) $Y1"
  bash benches/setup-venv.sh
  mkdir -p "$d"
  cp "$src/lines.geojson" "$src/samples.geojson" "$src/deposits.geojson" "$d/"
  cat >"$d/c.toml" <<TOML
[project]
name = "bench-eis"
[grid]
crs = "EPSG:7845"
bounds = [$X0, $((Y1 - ext)), $((X0 + ext)), $Y1]
cell_size = $cell
[labels]
path = "deposits.geojson"
[[evidence]]
name = "exact"
kind = "distance"
path = "lines.geojson"
[[evidence]]
name = "idw_all"
kind = "interpolate"
path = "samples.geojson"
attribute = "v"
search_radius = 2000.0
max_points = $NPOINTS
[output]
dir = "out"
TOML
  local ex="target/release/examples/feature_map" check_every=$(( (m + 49) / 50 ))
  read -r ele_s ele_c ele_m < <(time_it "$d" lode_exact "$ex" "$d/c.toml" exact "$d/lode_exact.tif")
  read -r eli_s eli_c eli_m < <(time_it "$d" lode_idw_all "$ex" "$d/c.toml" idw_all "$d/lode_idw_all.tif")
  read -r eed_s eed_c eed_m < <(time_it "$d" eis_distance "$EIS_PY" benches/evidence_eis.py distance \
    "$d/lines.geojson" $bounds "$m" "$d/eis_distance.tif" "$d/eis_distance.json")
  read -r eei_s eei_c eei_m < <(time_it "$d" eis_idw "$EIS_PY" benches/evidence_eis.py idw \
    "$d/samples.geojson" $bounds "$m" "$d/eis_idw.tif" "$d/eis_idw.json" --power 2 --radius 2000 \
    --check-rows "$check_every" --check-out "$d/eis_idw_check.npz")
  local agree
  agree=$("$PY" - "$d" <<'PYEOF'
import json, sys
import numpy as np
from osgeo import gdal
d = sys.argv[1]
read = lambda p: gdal.Open(f"{d}/{p}").ReadAsArray().astype("f8")
a, b = read("lode_exact.tif"), read("eis_distance.tif")
dist = float(np.abs(a - b).max())
chk = np.load(f"{d}/eis_idw_check.npz")
lode = read("lode_idw_all.tif")[chk["rows"]]
lode = np.where(lode == -9999, np.nan, lode)
eis = chk["values"]
both = np.isfinite(lode) & np.isfinite(eis)
rel = float((np.abs(lode[both] - eis[both]) / np.abs(eis[both])).max())
t = {k: json.load(open(f"{d}/eis_{k}.json")) for k in ("distance", "idw")}
print(json.dumps({"distance_max_abs_diff_m": dist, "idw_check_cells": int(eis.size),
                  "idw_max_rel_diff": rel, "idw_cells_only_lode": int((np.isfinite(lode) & ~np.isfinite(eis)).sum()),
                  "idw_cells_only_eis": int((~np.isfinite(lode) & np.isfinite(eis)).sum()),
                  "eis_distance_call_s": t["distance"]["call_seconds"], "eis_idw_call_s": t["idw"]["call_seconds"],
                  "eis_import_s": t["idw"]["import_seconds"]}))
PYEOF
)
  printf '\n== eis-toolkit: inputs of %s x %s, grid %s x %s cells of %s m ==\n' "$nref" "$nref" "$m" "$m" "$cell"
  printf '%-60s %9s %9s %9s\n' tool seconds cpu_s peak_MB
  printf '%-60s %9s %9s %9s\n' "eis-toolkit distance_computation_numba (exact)" "$eed_s" "$eed_c" "$eed_m" \
    "lode distance method=exact" "$ele_s" "$ele_c" "$ele_m" \
    "eis-toolkit idw (every sample within 2000 m)" "$eei_s" "$eei_c" "$eei_m" \
    "lode interpolate (IDW, max_points = every sample)" "$eli_s" "$eli_c" "$eli_m"
  printf 'eis-toolkit / lode wall: distance %s, IDW %s\n' \
    "$(awk -v a="$eed_s" -v b="$ele_s" 'BEGIN { printf "%.1f", a / b }')" "$(awk -v a="$eei_s" -v b="$eli_s" 'BEGIN { printf "%.1f", a / b }')"
  printf 'agreement: %s\n' "$agree"
  EIS_JSON="{\"cells\": $m, \"cell_size\": $cell, \"inputs_of\": $nref, \"eis_distance_s\": $eed_s, \"eis_distance_cpu_s\": $eed_c, \"eis_distance_mb\": $eed_m, \"lode_exact_s\": $ele_s, \"lode_exact_cpu_s\": $ele_c, \"lode_exact_mb\": $ele_m, \"eis_idw_s\": $eei_s, \"eis_idw_cpu_s\": $eei_c, \"eis_idw_mb\": $eei_m, \"lode_idw_all_s\": $eli_s, \"lode_idw_all_cpu_s\": $eli_c, \"lode_idw_all_mb\": $eli_m, \"agreement\": $agree}"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  bench_evidence
fi
