"""Pyspatialml peer of lode's map prediction: the same 8 rasters, a scikit-learn
RandomForestClassifier (100 trees, n_jobs=2) fitted on the same kind of training rows
(deposit cells + 10 random cells per deposit), then Raster.predict_proba to a GeoTIFF.
Prints the fit and predict_proba seconds, the forest's size (nodes and leaf depth, to
check it matches lode's) and the output file's layout as JSON; peak memory is measured
outside (/usr/bin/time -v)."""
import json
import sys
import time
from pathlib import Path

t_start = time.perf_counter()
import numpy as np
import rasterio
from pyspatialml import Raster
from sklearn.ensemble import RandomForestClassifier

scene, out = Path(sys.argv[1]), Path(sys.argv[2])
files = [str(scene / f) for f in sys.argv[3:]]
stack = Raster(files)
with rasterio.open(files[0]) as src:
    rows, cols = src.height, src.width
    transform = src.transform
pts = json.loads((scene / "deposits.geojson").read_text())["features"]
rng = np.random.default_rng(42)
pos = [rasterio.transform.rowcol(transform, *f["geometry"]["coordinates"]) for f in pts]
neg = list(zip(rng.integers(0, rows, 10 * len(pos)), rng.integers(0, cols, 10 * len(pos))))
cells = pos + neg
y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
x = np.empty((len(cells), len(files)))
for j, f in enumerate(files):
    with rasterio.open(f) as src:
        for i, (r, c) in enumerate(cells):
            x[i, j] = src.read(1, window=((r, r + 1), (c, c + 1)))[0, 0]
t0 = time.perf_counter()
rf = RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=42).fit(x, y)
fit_s = time.perf_counter() - t0
t1 = time.perf_counter()
stack.predict_proba(rf, file_path=str(out), dtype="float32", nodata=-9999)
predict_s = time.perf_counter() - t1
def leaf_depths(t):
    depth, stack, out = t.tree_, [(0, 0)], []
    while stack:
        i, d = stack.pop()
        if depth.children_left[i] == -1:
            out.append(d)
        else:
            stack += [(depth.children_left[i], d + 1), (depth.children_right[i], d + 1)]
    return out
depths = [d for t in rf.estimators_ for d in leaf_depths(t)]
with rasterio.open(out) as o:
    layout = {"driver": o.driver, "bands": o.count, "dtype": o.dtypes[0], "compression": str(o.compression), "tiled": o.profile.get("tiled", False), "overviews": len(o.overviews(1))}
print(json.dumps({
    "tool": "pyspatialml", "fit_s": fit_s, "predict_s": predict_s, "total_s": time.perf_counter() - t_start,
    "cells": rows * cols, "training_rows": len(cells),
    "trees": len(rf.estimators_), "nodes_mean": float(np.mean([t.tree_.node_count for t in rf.estimators_])),
    "leaf_depth_mean": float(np.mean(depths)), "leaf_depth_max": int(max(depths)), "output": layout,
}))
