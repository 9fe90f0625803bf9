"""scikit-learn's LinearDiscriminantAnalysis(solver="lsqr") (default priors) on a
training table: reads `train.csv` (columns..., y) and `query.csv` (columns...), and an
optional shrinkage (`auto` or a number; none without), and prints the probability of
class 1 for every query row as JSON. The reference of lode's `model.kind = "lda"` and
`model.shrinkage` (tests/models.rs)."""
import json
import sys

import numpy as np
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

train = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
query = np.loadtxt(sys.argv[2], delimiter=",", ndmin=2)
shrinkage = None
if len(sys.argv) > 3:
    shrinkage = sys.argv[3] if sys.argv[3] == "auto" else float(sys.argv[3])
model = LinearDiscriminantAnalysis(solver="lsqr", shrinkage=shrinkage)
model.fit(train[:, :-1], train[:, -1].astype(int))
print(json.dumps([float(p) for p in model.predict_proba(query)[:, 1]]))
