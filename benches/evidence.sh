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
# Reports wall seconds, peak RSS (/usr/bin/time -v) and the largest difference from the peer;
# writes benches/out/evidence.json. Only ratios measured in the same run mean anything.
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
PY=/usr/bin/python3   # Debian's python3-gdal
X0=650000; Y1=-2300000; CELL=10

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
    # time_it NAME CMD...: wall seconds and peak RSS (MB) from /usr/bin/time -v.
    time_it() {
      local name="$1"; shift
      /usr/bin/time -v "$@" >"$d/$name.log" 2>&1 || { echo "bench: $name failed, see $d/$name.log" >&2; return 1; }
      local wall rss
      wall=$(grep "Elapsed (wall clock)" "$d/$name.log" | awk '{print $NF}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
      rss=$(grep "Maximum resident set size" "$d/$name.log" | awk '{printf "%.0f", $NF/1024}')
      echo "$wall $rss"
    }
    local te="$X0 $((Y1 - ext)) $((X0 + ext)) $Y1"
    read -r gr_s gr_m < <(time_it gdal_rasterize gdal_rasterize -q -burn 1 -ot Byte -tr $CELL $CELL -te $te -co TILED=YES "$d/lines.geojson" "$d/burnt.tif")
    read -r gp_s gp_m < <(time_it gdal_proximity gdal_proximity.py -q -distunits GEO -ot Float32 -values 1 -co TILED=YES -co COMPRESS=ZSTD "$d/burnt.tif" "$d/proximity.tif")
    read -r lr_s lr_m < <(time_it lode_raster "$ex" "$d/c.toml" raster "$d/lode_raster.tif")
    read -r le_s le_m < <(time_it lode_exact "$ex" "$d/c.toml" exact "$d/lode_exact.tif")
    local gg_s=null gg_m=null diff_idw="not run (size > $GDAL_GRID_MAX)"
    [ "$n" -le "$GDAL_GRID_MAX" ] && read -r gg_s gg_m < <(time_it gdal_grid gdal_grid -q -a invdistnn:power=2:radius=2000:max_points=12:nodata=-9999 -zfield v -txe $X0 $((X0 + ext)) -tye $Y1 $((Y1 - ext)) -outsize $n $n -ot Float32 -co TILED=YES "$d/samples.geojson" "$d/gdal_grid.tif")
    read -r li_s li_m < <(time_it lode_idw "$ex" "$d/c.toml" idw "$d/lode_idw.tif")
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
    printf '%-44s %9s %9s\n' tool seconds peak_MB
    printf '%-44s %9s %9s\n' "gdal_rasterize" "$gr_s" "$gr_m" "gdal_proximity.py" "$gp_s" "$gp_m" \
      "lode distance method=raster" "$lr_s" "$lr_m" "lode distance method=exact" "$le_s" "$le_m" \
      "gdal_grid invdistnn" "$gg_s" "$gg_m" "lode interpolate (IDW)" "$li_s" "$li_m"
    printf 'ratio lode raster / (gdal_rasterize + gdal_proximity): %s\n' "$(awk -v a="$lr_s" -v b="$g_total" 'BEGIN { printf "%.2f", a / b }')"
    [ "$n" -le "$GDAL_GRID_MAX" ] && printf 'ratio lode IDW / gdal_grid invdistnn: %s\n' "$(awk -v a="$li_s" -v b="$gg_s" 'BEGIN { printf "%.2f", a / b }')"
    printf 'largest |lode raster - gdal_proximity| (m), cells differing by > 1 mm, of which lode larger: %s\n' "$diff_prox"
    printf 'largest |lode IDW - gdal_grid| where both have data, cells only lode / only gdal_grid has: %s\n' "$diff_idw"
    results+=("{\"n\": $n, \"gdal_rasterize_s\": $gr_s, \"gdal_proximity_s\": $gp_s, \"gdal_proximity_mb\": $gp_m, \"lode_raster_s\": $lr_s, \"lode_raster_mb\": $lr_m, \"lode_exact_s\": $le_s, \"lode_exact_mb\": $le_m, \"gdal_grid_s\": $gg_s, \"gdal_grid_mb\": $gg_m, \"lode_idw_s\": $li_s, \"lode_idw_mb\": $li_m, \"diff_proximity\": \"$diff_prox\"}")
  done
  (IFS=,; echo "[${results[*]}]") >"benches/out/evidence.json"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  bench_evidence
fi
