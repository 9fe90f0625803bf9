"""Independent references for tests/ireland.rs, run with the venv of tests/requirements.txt
(PyKrige, numpy). Reads CSV written by GDAL's ogr2ogr (never lode's reading) and prints JSON.

    ireland_check.py krige SAMPLES.csv XCOL YCOL VCOL CELLS.csv NUGGET SILL RANGE N
        ordinary kriging (spherical) with PyKrige at the cell centres of CELLS.csv (x,y),
        the N nearest samples: [[estimate, variance], ...]
    ireland_check.py clr SAMPLES.csv IDCOL COL...
        centred log-ratio of the columns of every row with numpy: {id: [clr...]}
    ireland_check.py percentile VALUES.txt P...
        numpy.percentile (method "linear") of one value per line: [value at P...]
"""
import csv
import json
import sys

import numpy as np


def main():
    mode = sys.argv[1]
    if mode == "krige":
        from pykrige.ok import OrdinaryKriging

        path, xc, yc, vc, cells, nugget, sill, rng, n = sys.argv[2:11]
        rows = list(csv.DictReader(open(path)))
        x = np.array([float(r[xc]) for r in rows])
        y = np.array([float(r[yc]) for r in rows])
        v = np.array([float(r[vc]) for r in rows])
        c = np.loadtxt(cells, delimiter=",", ndmin=2)
        ok = OrdinaryKriging(
            x, y, v, variogram_model="spherical",
            variogram_parameters={"sill": float(sill), "range": float(rng), "nugget": float(nugget)},
        )
        z, ss = ok.execute("points", c[:, 0], c[:, 1], n_closest_points=int(n), backend="loop")
        print(json.dumps([[float(a), float(b)] for a, b in zip(z, ss)]))
    elif mode == "clr":
        path, idc, *cols = sys.argv[2:]
        rows = list(csv.DictReader(open(path)))
        parts = np.array([[float(r[c]) for c in cols] for r in rows])
        logs = np.log(parts)
        clr = logs - logs.mean(axis=1, keepdims=True)
        print(json.dumps({r[idc]: [float(v) for v in row] for r, row in zip(rows, clr)}))
    elif mode == "percentile":
        path, *ps = sys.argv[2:]
        values = np.loadtxt(path)
        print(json.dumps([float(v) for v in np.percentile(values, [float(p) for p in ps])]))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
