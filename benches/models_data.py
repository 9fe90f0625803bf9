"""Writes the shared tabular benchmark data (train 200k x 20, test 50k x 20) for
benches/models.sh, and the AUC ceiling (AUC of the true probability on the test rows).

Features are standard normal; the label is Bernoulli(p) with
  logit p = -1.5 + 1.5 x0 - x1 + 0.8 x2 x3 + sin(2 x4) + 1.2 [x5 > 0.5] - 0.5 x6^2
so 7 columns carry signal (with interactions and thresholds), 13 are noise.
Files: train_x.f64 / test_x.f64 (row-major little-endian float64), train_y.u8 / test_y.u8,
meta.json.
"""
import json
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(20261129)
n_train, n_test, cols = 200_000, 50_000, 20
x = rng.standard_normal((n_train + n_test, cols))
z = -1.5 + 1.5 * x[:, 0] - x[:, 1] + 0.8 * x[:, 2] * x[:, 3] + np.sin(2 * x[:, 4]) + 1.2 * (x[:, 5] > 0.5) - 0.5 * x[:, 6] ** 2
p = 1 / (1 + np.exp(-z))
y = (rng.random(n_train + n_test) < p).astype(np.uint8)
x[:n_train].astype("<f8").tofile(out / "train_x.f64")
x[n_train:].astype("<f8").tofile(out / "test_x.f64")
y[:n_train].tofile(out / "train_y.u8")
y[n_train:].tofile(out / "test_y.u8")
meta = {"cols": cols, "train_rows": n_train, "test_rows": n_test, "positive_rate": float(y.mean()),
        "auc_ceiling": float(roc_auc_score(y[n_train:], p[n_train:]))}
(out / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
print(json.dumps(meta))
