#!/bin/sh
# Spatially cross-validated AUC of every model kind on the Cloncurry demo, on the same
# held-out rows: each demo config with [validation] spatial_block (5 folds, 10 km blocks,
# 2 km exclusion buffer) appended, the demo's seed (42) and negative sampling (2 km
# buffer, 10 negatives per deposit cell). Run from the repository root after
# `cargo build --release`:
#   sh data/cloncurry/cv-table.sh
# Configs and outputs go to out/cloncurry-cv/; prints a Markdown table.
set -e
D="$PWD/data/cloncurry"
LODE="$PWD/target/release/lode"
O="$PWD/out/cloncurry-cv"
mkdir -p "$O"
VAL='
[validation]
kind = "spatial_block"
folds = 5
block_size = 10000
buffer = 2000
'
abs() { sed -e "s#path = \"#path = \"$D/#; s#template = \"#template = \"$D/#; s#^dir = .*#dir = \"$O/out-$2\"#" "$D/$1"; }
abs cloncurry.toml logistic > "$O/logistic.toml"
abs cloncurry.toml random_forest | sed 's/^kind = "logistic"/kind = "random_forest"/' > "$O/random_forest.toml"
abs cloncurry.toml gradient_boosting | sed 's/^kind = "logistic"/kind = "gradient_boosting"/' > "$O/gradient_boosting.toml"
abs cloncurry-fuzzy.toml fuzzy > "$O/fuzzy.toml"
# wofe: GA's four binary maps, with the demo's seed and negative sampling for the CV rows.
abs cloncurry-wofe.toml wofe \
  | sed 's/^name = "cloncurry-iocg-wofe"/&\nseed = 42/; s#^path = "\(.*IOCG_Deposits.shp\)"#path = "\1"\nnegative_buffer = 2000.0\nnegatives_per_positive = 10#' \
  > "$O/wofe.toml"
for m in logistic wofe fuzzy random_forest gradient_boosting; do
  echo "$VAL" >> "$O/$m.toml"
  "$LODE" -q run --threads 2 "$O/$m.toml" > /dev/null
done
python3 - "$O" <<'PY'
import json, sys
o = sys.argv[1]
print("| model | config | on-map AUC | spatial-CV AUC (mean ± sd, 5 folds) | pooled held-out AUC |")
print("|---|---|---|---|---|")
cfg = {"logistic": "cloncurry.toml", "wofe": "cloncurry-wofe.toml", "fuzzy": "cloncurry-fuzzy.toml",
       "random_forest": "cloncurry.toml, kind = random_forest", "gradient_boosting": "cloncurry.toml, kind = gradient_boosting"}
for m in cfg:
    j = json.load(open(f"{o}/out-{m}/metrics.json")); v = j["validation"]
    print(f"| `{m}` | {cfg[m]} | {j['auc']:.3f} | {v['cv_auc']:.3f} ± {v['cv_auc_sd']:.3f} | {v['pooled_auc']:.3f} |")
PY
