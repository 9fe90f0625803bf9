"""scikit-learn peers of benches/models_tabular.rs on the same files: RandomForestClassifier
(100 trees, n_jobs=2) and HistGradientBoostingClassifier (defaults: 100 rounds, lr 0.1)."""
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import roc_auc_score

d = Path(sys.argv[1])
meta = json.loads((d / "meta.json").read_text())
c = meta["cols"]
xtr = np.fromfile(d / "train_x.f64", dtype="<f8").reshape(-1, c)
xte = np.fromfile(d / "test_x.f64", dtype="<f8").reshape(-1, c)
ytr = np.fromfile(d / "train_y.u8", dtype=np.uint8)
yte = np.fromfile(d / "test_y.u8", dtype=np.uint8)
out = []
for name, m in [
    ("scikit-learn RandomForestClassifier (100 trees, n_jobs=2)", RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=42)),
    ("scikit-learn HistGradientBoostingClassifier (defaults)", HistGradientBoostingClassifier(random_state=42, early_stopping=False)),
]:
    t0 = time.perf_counter()
    m.fit(xtr, ytr)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    p = m.predict_proba(xte)[:, 1]
    predict_s = time.perf_counter() - t1
    out.append({"model": name, "fit_s": fit_s, "predict_s": predict_s, "auc": float(roc_auc_score(yte, p))})
    print(json.dumps(out[-1]), file=sys.stderr)
    del m
print(json.dumps(out, indent=1))
