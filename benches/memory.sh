#!/usr/bin/env bash
# Peak memory against grid size: the Cloncurry demo (logistic, 4 layers, 91 feature
# columns) on its own 100 m grid and on 50 m and 25 m grids over the same bounds (4x and
# 16x the cells, every raster warped onto them). Peak RSS is the windows in flight plus
# GDAL's block cache (bounded at 256 MB): it must not grow with the grid beyond that.
#   bash benches/memory.sh            (called by benches/run.sh; writes benches/out/memory.json)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LODE="${BENCH_LODE:-target/release/lode}"
OUT="benches/out/memory"
mkdir -p "$OUT"
DATA="$ROOT/data/cloncurry"

config() { # cell size -> config text
  local cell="$1"
  sed -e "s|template = \"StratNo.tif\"|crs = \"EPSG:7845\"\nbounds = [600261.7689, -2509191.0157, 726161.7689, -2260491.0157]\ncell_size = $cell|" \
      -e "s|path = \"|path = \"$DATA/|" \
      -e "s|dir = \"../../out/cloncurry\"|dir = \"$ROOT/$OUT/out-$cell\"|" \
      "$DATA/cloncurry.toml"
}

rows=()
for cell in ${BENCH_MEMORY_CELLS:-100 50 25}; do
  config "$cell" > "$OUT/cloncurry-$cell.toml"
  /usr/bin/time -v "$LODE" -q run "$OUT/cloncurry-$cell.toml" --threads 2 > "$OUT/run-$cell.log" 2> "$OUT/time-$cell.log"
  rss=$(awk -F: '/Maximum resident/ { gsub(/ /, "", $2); print $2 }' "$OUT/time-$cell.log")
  wall=$(awk '/Elapsed \(wall clock\)/ { print $NF }' "$OUT/time-$cell.log")
  cells=$(python3 -c "import json; m=json.load(open('$OUT/out-$cell/metrics.json')); print(m['grid']['cols']*m['grid']['rows'])")
  rows+=("{\"cell_size_m\": $cell, \"cells\": $cells, \"peak_rss_kb\": $rss, \"wall\": \"$wall\"}")
  printf 'memory: %4s m grid, %10s cells: peak RSS %7.1f MiB, wall %s\n' "$cell" "$cells" "$(echo "$rss / 1024" | bc -l)" "$wall"
done
printf '[%s]\n' "$(IFS=,; echo "${rows[*]}")" > benches/out/memory.json
