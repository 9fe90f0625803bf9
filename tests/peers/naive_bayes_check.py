"""scikit-learn's GaussianNB (default priors and var_smoothing) on a training table:
reads `train.csv` (columns..., y) and `query.csv` (columns...) and prints the probability
of class 1 for every query row as JSON. The reference of lode's `model.kind = "naive_bayes"`
(tests/models.rs)."""
import json
import sys

import numpy as np
from sklearn.naive_bayes import GaussianNB

train = np.loadtxt(sys.argv[1], delimiter=",", ndmin=2)
query = np.loadtxt(sys.argv[2], delimiter=",", ndmin=2)
model = GaussianNB().fit(train[:, :-1], train[:, -1].astype(int))
print(json.dumps([float(p) for p in model.predict_proba(query)[:, 1]]))
