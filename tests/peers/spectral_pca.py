"""Independent reference for lode's `spectral` PCA and Crosta layers: numpy's
eigendecomposition (LAPACK via numpy.linalg.eigh) of the sample covariance (numpy.cov)
of Landsat 8 TOA reflectances computed from the MTL, read with GDAL's Python bindings.
Prints JSON: per case the eigenvalues, the output loadings and the scores of every pixel.
Conventions (lode's, documented in docs/config.md): eigenvalues decreasing, each
component's largest-magnitude loading positive; Crosta picks, among the components
whose loadings on the reflective and absorbing bands have opposite signs, the one with
the largest difference, signed so the reflective band loads positively.
Usage: spectral_pca.py FIXTURE_DIR
"""
import json
import math
import sys
from pathlib import Path

import numpy as np
from osgeo import gdal

gdal.UseExceptions()
d = Path(sys.argv[1])
mtl = {}
for line in (d / "l8_MTL.txt").read_text().splitlines():
    if "=" in line:
        k, v = line.split("=", 1)
        mtl[k.strip()] = v.strip().strip('"')
sin_sun = math.sin(math.radians(float(mtl["SUN_ELEVATION"])))


def toa(b):
    dn = gdal.Open(str(d / f"l8_B{b}.tif")).ReadAsArray().astype(np.float64).ravel()
    m, a = float(mtl[f"REFLECTANCE_MULT_BAND_{b}"]), float(mtl[f"REFLECTANCE_ADD_BAND_{b}"])
    return (m * dn + a) / sin_sun


def fit(bands, standardize):
    x = np.stack([toa(b) for b in bands], axis=1)
    mean = x.mean(axis=0)
    cov = np.cov(x, rowvar=False)
    scale = 1.0 / np.sqrt(np.diag(cov)) if standardize else np.ones(len(bands))
    w, v = np.linalg.eigh(cov * np.outer(scale, scale))
    order = np.argsort(w)[::-1]
    w, v = w[order], v[:, order]
    for k in range(v.shape[1]):
        if v[np.argmax(np.abs(v[:, k])), k] < 0:
            v[:, k] = -v[:, k]
    return x, mean, scale, w, v


out = {}
x, mean, scale, w, v = fit([2, 4, 5, 6], False)
out["pca"] = {"eigenvalues": w.tolist(), "loadings": v[:, :2].T.tolist(), "scores": (((x - mean) * scale) @ v[:, :2]).T.tolist()}
x, mean, scale, w, v = fit([2, 4, 5, 6, 7], True)
out["pca_std"] = {"eigenvalues": w.tolist(), "loadings": v.T.tolist(), "scores": (((x - mean) * scale) @ v).T.tolist()}
# Crosta for hydroxyl on B2, B5, B6, B7: reflective B6 (index 2), absorbing B7 (index 3).
x, mean, scale, w, v = fit([2, 5, 6, 7], False)
cands = [k for k in range(4) if v[2, k] * v[3, k] < 0] or list(range(4))
k = max(cands, key=lambda k: (abs(v[2, k] - v[3, k]), -k))
l = v[:, k] if v[2, k] >= v[3, k] else -v[:, k]
out["crosta"] = {"component": k + 1, "loadings": [l.tolist()], "scores": [((x - mean) @ l).tolist()]}
print(json.dumps(out))
