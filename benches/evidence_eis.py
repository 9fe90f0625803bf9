"""eis-toolkit's distance and IDW on the inputs of benches/evidence.sh (the Python peer).

    python evidence_eis.py distance LINES.geojson XMIN YMIN XMAX YMAX CELLS OUT.tif TIMES.json
    python evidence_eis.py idw SAMPLES.geojson XMIN YMIN XMAX YMAX CELLS OUT.tif TIMES.json \
        [--power 2] [--radius 2000] [--attribute v] [--check-rows K --check-out CHECK.npz]

distance: eis_toolkit.vector_processing._distance_computation_numba.distance_computation_numba,
    the exact distance from every cell centre to the nearest segment (brute force over every
    segment, numba-parallel). eis-toolkit's public `distance_computation` rasterizes and calls
    `distance_to_anomaly`, which is gdal_proximity.py when GDAL's Python bindings are installed
    (timed in the bench as GDAL) and otherwise the same numba brute force over one point per
    burnt cell, far slower; this is its vector path, the peer of lode's `method = "exact"`.
idw: eis_toolkit.vector_processing.idw_interpolation.idw (every sample within `search_radius`,
    weights 1 / d^power). The public function evaluates at `np.linspace(xmin, xmax, CELLS)` (and
    likewise in y): from edge to edge, not at cell centres, so its raster is shifted by up to half
    a cell from the grid. For the agreement check, `--check-rows K` also evaluates eis-toolkit's
    own `_idw_core` at the cell centres of every K-th row and saves `rows`, `values` to CHECK.npz.

The output is written as a float32 GeoTIFF (nodata -9999 where eis-toolkit gives NaN).
TIMES.json gets import_seconds, read_seconds (reading the GeoJSON) and call_seconds (the call).
"""
import argparse
import json
import time

t0 = time.perf_counter()
import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import rasterio  # noqa: E402
from rasterio.transform import from_origin  # noqa: E402

from eis_toolkit.vector_processing import idw_interpolation  # noqa: E402
from eis_toolkit.vector_processing._distance_computation_numba import distance_computation_numba  # noqa: E402

import_seconds = time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["distance", "idw"])
    ap.add_argument("vector")
    ap.add_argument("bounds", nargs=4, type=float, metavar="B")
    ap.add_argument("cells", type=int)
    ap.add_argument("out")
    ap.add_argument("times")
    ap.add_argument("--power", type=float, default=2.0)
    ap.add_argument("--radius", type=float, default=2000.0)
    ap.add_argument("--attribute", default="v")
    ap.add_argument("--check-rows", type=int, default=0)
    ap.add_argument("--check-out")
    a = ap.parse_args()
    xmin, ymin, xmax, ymax = a.bounds
    cell = (xmax - xmin) / a.cells
    t = time.perf_counter()
    gdf = gpd.read_file(a.vector)
    read_seconds = time.perf_counter() - t
    profile = {
        "driver": "GTiff", "dtype": "float32", "count": 1, "nodata": -9999.0,
        "crs": gdf.crs, "transform": from_origin(xmin, ymax, cell, cell),
        "width": a.cells, "height": int(round((ymax - ymin) / cell)),
    }
    t = time.perf_counter()
    if a.what == "distance":
        out = distance_computation_numba(gdf, profile)
    else:
        out = idw_interpolation.idw(gdf, a.attribute, profile, power=a.power, search_radius=a.radius)
    call_seconds = time.perf_counter() - t
    out = np.where(np.isfinite(out), out, -9999.0).astype("float32")
    with rasterio.open(a.out, "w", tiled=True, compress="zstd", **profile) as ds:
        ds.write(out, 1)
    if a.what == "idw" and a.check_rows:
        rows = np.arange(0, profile["height"], a.check_rows)
        xs = xmin + (np.arange(a.cells) + 0.5) * cell
        ys = (ymax - (rows + 0.5) * cell).reshape(-1, 1)
        pts = np.array([(g.x, g.y) for g in gdf.geometry])
        z = gdf[a.attribute].values.astype("f8")
        vals = idw_interpolation._idw_core(pts[:, 0], pts[:, 1], z, xs, ys, a.power, a.radius)
        np.savez(a.check_out, rows=rows, values=vals)
    json.dump({"import_seconds": import_seconds, "read_seconds": read_seconds, "call_seconds": call_seconds},
              open(a.times, "w"))


if __name__ == "__main__":
    main()
