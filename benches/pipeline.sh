#!/usr/bin/env bash
# End to end against the I/O floor: the Cloncurry demo config (logistic, 4 layers, 91
# feature columns, spatial cross-validation) on its own 100 m grid and on 25 m and 12.5 m
# grids over the same bounds (16x and 64x the cells; every raster then warped onto the
# grid), with 2 threads. Per cell size: lode's whole run (wall, CPU, peak RSS from
# /usr/bin/time -v; seconds per stage from metrics.json `timings_s`), and the I/O floor
# measured in the same run: GDAL reading the same four inputs warped onto the same grid
# (one `gdalwarp -of VRT` each, lode's resampling: bilinear for the continuous layers,
# nearest for the categorical ones, exact transformation, no overviews) and writing one
# COG of the grid (`gdal_translate -of COG`, lode's creation options) from a VRT whose
# band is the sum of the four, so every input cell is read and warped once.
#   bash benches/pipeline.sh      (BENCH_PIPELINE_CELLS="100 25 12.5" picks the cell sizes;
#                                  writes benches/out/pipeline.json)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
LODE="${BENCH_LODE:-target/release/lode}"
OUT="benches/out/pipeline"
mkdir -p "$OUT"
DATA="$ROOT/data/cloncurry"
BOUNDS=(600261.7689 -2509191.0157 726161.7689 -2260491.0157)

config() { # cell size -> config text
  local cell="$1"
  sed -e "s|template = \"StratNo.tif\"|crs = \"EPSG:7845\"\nbounds = [${BOUNDS[0]}, ${BOUNDS[1]}, ${BOUNDS[2]}, ${BOUNDS[3]}]\ncell_size = $cell|" \
      -e "s|path = \"|path = \"$DATA/|" \
      -e "s|dir = \"../../out/cloncurry\"|dir = \"$ROOT/$OUT/out-$cell\"|" \
      "$DATA/cloncurry.toml"
}

# timed NAME CMD...: runs CMD under /usr/bin/time -v (log in $OUT/NAME.time), prints
# "wall user sys peak_kb".
timed() {
  local name="$1"; shift
  /usr/bin/time -v "$@" > "$OUT/$name.log" 2> "$OUT/$name.time"
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); w = 0; for (i = 1; i <= n; i++) w = w * 60 + p[i] }
              /User time/ { u = $2 } /System time/ { s = $2 } /Maximum resident/ { m = $2 }
              END { printf "%.2f %.2f %.2f %d\n", w, u, s, m }' "$OUT/$name.time"
}

rows=()
for cell in ${BENCH_PIPELINE_CELLS:-100 25 12.5}; do
  config "$cell" > "$OUT/cloncurry-$cell.toml"
  read -r wall user sys rss < <(timed "lode-$cell" "$LODE" -q run "$OUT/cloncurry-$cell.toml" --threads 2)
  metrics="$OUT/out-$cell/metrics.json"
  read -r cols nrows < <(python3 -c "import json; g=json.load(open('$metrics'))['grid']; print(g['cols'], g['rows'])")
  # The floor: the same inputs warped onto the same grid, summed into one band, one COG.
  fdir="$OUT/floor-$cell"
  rm -rf "$fdir" && mkdir -p "$fdir"
  vrts=()
  for spec in Dist2Breccia.tif:bilinear FaultDensity.tif:bilinear StratNo.tif:near binary/Dist2Fault.tif:near; do
    src="${spec%%:*}" alg="${spec##*:}" v="$fdir/$(basename "${spec%%:*}" .tif).vrt"
    ot=(); [ "$alg" = bilinear ] && ot=(-ot Float64 -wo XSCALE=1 -wo YSCALE=1)
    gdalwarp -q -overwrite -of VRT -t_srs EPSG:7845 -te "${BOUNDS[@]}" -ts "$cols" "$nrows" -r "$alg" \
      -et 0 -ovr NONE -dstalpha "${ot[@]}" "$DATA/$src" "$v"
    vrts+=("$v")
  done
  python3 - "$fdir/sum.vrt" "$cols" "$nrows" "${vrts[@]}" <<'PY'
import sys
out, cols, rows, srcs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
first = open(srcs[0]).read()
srs = first[first.index("<SRS"):first.index("</SRS>") + 6]
gt = first[first.index("<GeoTransform>"):first.index("</GeoTransform>") + 15]
sources = "".join(
    f'<SimpleSource><SourceFilename relativeToVRT="0">{s}</SourceFilename><SourceBand>1</SourceBand></SimpleSource>'
    for s in srcs)
open(out, "w").write(
    f'<VRTDataset rasterXSize="{cols}" rasterYSize="{rows}">{srs}{gt}'
    f'<VRTRasterBand dataType="Float32" band="1" subClass="VRTDerivedRasterBand">'
    f'<PixelFunctionType>sum</PixelFunctionType>{sources}</VRTRasterBand></VRTDataset>\n')
PY
  read -r fwall fuser fsys frss < <(timed "floor-$cell" env GDAL_CACHEMAX=256 gdal_translate -q -of COG \
    -co COMPRESS=DEFLATE -co PREDICTOR=YES -co BLOCKSIZE=512 -co OVERVIEWS=AUTO -co OVERVIEW_RESAMPLING=AVERAGE \
    -co BIGTIFF=IF_SAFER -co NUM_THREADS=ALL_CPUS "$fdir/sum.vrt" "$fdir/floor.tif")
  rm -f "$fdir/floor.tif"
  row=$(python3 - "$metrics" "$cell" "$wall" "$user" "$sys" "$rss" "$fwall" "$fuser" "$fsys" "$frss" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
cell, wall, user, sys_, rss, fwall, fuser, fsys, frss = sys.argv[2:]
cells = m["grid"]["cols"] * m["grid"]["rows"]
print(json.dumps({
    "cell_size_m": float(cell), "cells": cells,
    "lode": {"wall_s": float(wall), "user_s": float(user), "sys_s": float(sys_), "peak_rss_mib": int(rss) / 1024,
             "stages_s": {k: round(v, 2) for k, v in m["timings_s"]},
             "training_rows": m["fit"]["training"]["positives"] + m["fit"]["training"]["negatives"]},
    "floor": {"wall_s": float(fwall), "user_s": float(fuser), "sys_s": float(fsys), "peak_rss_mib": int(frss) / 1024},
    "lode_over_floor": round(float(wall) / float(fwall), 2),
    "mcells_per_s": round(cells / float(wall) / 1e6, 3),
}))
PY
)
  rows+=("$row")
  python3 - "$row" <<'PY'
import json, sys
r = json.loads(sys.argv[1]); l = r["lode"]; f = r["floor"]
stages = ", ".join(f"{k} {v:.2f}" for k, v in l["stages_s"].items())
print(f"pipeline: {r['cell_size_m']:>5} m, {r['cells']:>10} cells: lode {l['wall_s']:.1f} s wall "
      f"({l['user_s'] + l['sys_s']:.1f} CPU-s, peak {l['peak_rss_mib']:.0f} MiB; {stages}); "
      f"floor {f['wall_s']:.1f} s wall ({f['user_s'] + f['sys_s']:.1f} CPU-s, peak {f['peak_rss_mib']:.0f} MiB); "
      f"lode / floor {r['lode_over_floor']}x")
PY
done
printf '[%s]\n' "$(IFS=,; echo "${rows[*]}")" > benches/out/pipeline.json
