"""scikit-learn peers of benches/models_tabular.rs on the same files: RandomForestClassifier
(100 trees, n_jobs=2) and HistGradientBoostingClassifier (its defaults: 100 rounds, lr 0.1,
31 leaves, min_samples_leaf 20, l2 0, 255 bins), once with early stopping off (100 rounds,
like lode) and once with its default early_stopping='auto' (on above 10 000 rows: 10% of the
rows held out for validation, stop after 10 rounds without improvement); `n_iter` records
the rounds it fitted. BENCH_TABULAR_ONLY=rf|gbt runs one family."""
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.metrics import roc_auc_score

d = Path(sys.argv[1])
only = os.environ.get("BENCH_TABULAR_ONLY", "")
meta = json.loads((d / "meta.json").read_text())
c = meta["cols"]
xtr = np.fromfile(d / "train_x.f64", dtype="<f8").reshape(-1, c)
xte = np.fromfile(d / "test_x.f64", dtype="<f8").reshape(-1, c)
ytr = np.fromfile(d / "train_y.u8", dtype=np.uint8)
yte = np.fromfile(d / "test_y.u8", dtype=np.uint8)
out = []
models = []
if only in ("", "rf"):
    models.append(("scikit-learn RandomForestClassifier (100 trees, n_jobs=2)", lambda: RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=42)))
if only in ("", "gbt"):
    models.append(("scikit-learn HistGradientBoostingClassifier (defaults, early_stopping=False)", lambda: HistGradientBoostingClassifier(random_state=42, early_stopping=False)))
    models.append(("scikit-learn HistGradientBoostingClassifier (defaults: early_stopping='auto')", lambda: HistGradientBoostingClassifier(random_state=42)))
for name, make in models:
    m = make()
    t0 = time.perf_counter()
    m.fit(xtr, ytr)
    fit_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    p = m.predict_proba(xte)[:, 1]
    predict_s = time.perf_counter() - t1
    out.append({"model": name, "fit_s": fit_s, "predict_s": predict_s, "auc": float(roc_auc_score(yte, p))})
    if hasattr(m, "n_iter_"):
        out[-1]["n_iter"] = int(m.n_iter_)
    print(json.dumps(out[-1]), file=sys.stderr)
    del m
print(json.dumps(out, indent=1))
