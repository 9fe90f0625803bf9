#!/usr/bin/env bash
# Creates (if missing) the Python venv the benchmarks use, with eis-toolkit (the EU Exploration
# Information System toolkit) and exactly what its weights-of-evidence module imports.
#
#   bash benches/setup-venv.sh          # quiet when the venv is already up to date
#
# Environment overrides (for testing / other machines):
#   BENCH_VENV    venv directory            (default: <repo>/.venv-bench)
#   BENCH_PYTHON  interpreter to build it   (default: pyenv 3.10, else python3.10/3.9, else Debian's)
#
# Why not `pip install eis-toolkit` with all its dependencies: eis-toolkit 1.1.6 declares
# tensorflow, keras, pysal, esda, numba, pykrige, statsmodels, imbalanced-learn, seaborn, typer and
# the GDAL Python bindings (an sdist that must be compiled against the system libgdal of the same
# version). None of them is imported by eis_toolkit.prediction.weights_of_evidence, which is all the
# benchmark runs, so eis-toolkit is installed with --no-deps and the modules that WofE code path
# imports (geopandas, rasterio, fiona, shapely, pyproj, pandas, numpy, beartype) are pinned below at
# versions inside eis-toolkit's own constraints. The import of the WofE module is verified at the end.
# The evidence bench (benches/evidence_eis.py) also runs eis-toolkit's distance and IDW, which import
# numba (and typer), pinned below too.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${BENCH_VENV:-$ROOT/.venv-bench}"

# Every package in the venv, pinned (resolved and verified with CPython 3.10.13 on Debian 12, x86-64;
# all are binary wheels on PyPI for CPython 3.9-3.11, so nothing is compiled).
REQUIREMENTS="$(cat <<'EOF'
eis-toolkit==1.1.6
beartype==0.13.1
geopandas==0.11.1
fiona==1.9.6
rasterio==1.4.4
shapely==1.8.5.post1
pyproj==3.7.1
pandas==2.3.3
numpy==1.26.4
scipy==1.11.4
affine==3.0.1
attrs==26.1.0
certifi==2026.10.19.post1
click==8.5.1
click-plugins==1.1.1.2
cligj==0.7.2
packaging==26.4
pyparsing==3.3.3
python-dateutil==3.0.0
pytz==2026.6
six==1.17.0
tzdata==2026.6
numba==0.60.0
llvmlite==0.43.0
typer==0.9.4
typing_extensions==4.12.2
EOF
)"
STAMP_VALUE="$(printf '%s\n' "$REQUIREMENTS" | sha256sum | cut -c1-16)"
STAMP="$VENV/.bench-requirements"

log() { echo "setup-venv: $*" >&2; }

verify() {
  "$VENV/bin/python" -c 'import eis_toolkit, eis_toolkit.prediction.weights_of_evidence
import eis_toolkit.vector_processing.idw_interpolation, eis_toolkit.vector_processing.distance_computation' >/dev/null 2>&1
}

# Up to date already: say nothing.
if [ -x "$VENV/bin/python" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$STAMP_VALUE" ] && verify; then
  exit 0
fi

py_minor() { "$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || true; }
supported() { case "$(py_minor "$1")" in 3.9|3.10) return 0 ;; *) return 1 ;; esac; }

# 1. Choose an interpreter. eis-toolkit declares Requires-Python >=3.9,<3.11.
PY="${BENCH_PYTHON:-}"
if [ -z "$PY" ]; then
  PYENV_ROOT_DIR="${PYENV_ROOT:-$HOME/.pyenv}"
  for cand in "$PYENV_ROOT_DIR"/versions/3.10.*/bin/python3.10 "$PYENV_ROOT_DIR"/versions/3.9.*/bin/python3.9 \
              "$(command -v python3.10 || true)" "$(command -v python3.9 || true)"; do
    if [ -n "$cand" ] && [ -x "$cand" ] && supported "$cand"; then PY="$cand"; break; fi
  done
fi
if [ -z "$PY" ]; then
  # Fresh machine without pyenv: use Debian's python3 (+ python3-venv for ensurepip).
  if ! /usr/bin/python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    log "no Python 3.9/3.10 found; installing Debian's python3-venv"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
  fi
  PY=/usr/bin/python3
fi
[ -x "$PY" ] || { log "interpreter not found: $PY"; exit 1; }

PIP_EXTRA=()
if ! supported "$PY"; then
  log "WARNING: $PY is Python $(py_minor "$PY"); eis-toolkit 1.1.6 supports only Python 3.9-3.10."
  log "WARNING: installing it with --ignore-requires-python. Its weights-of-evidence module is plain"
  log "WARNING: Python and the pinned wheels exist for 3.11, but this is outside what eis-toolkit supports."
  log "WARNING: For a supported setup install Python 3.10 (e.g. pyenv install 3.10.13) and set BENCH_PYTHON."
  PIP_EXTRA+=(--ignore-requires-python)
fi

# 2. Create the venv (recreate it when it was built from another interpreter version).
if [ -x "$VENV/bin/python" ] && [ "$(py_minor "$VENV/bin/python")" != "$(py_minor "$PY")" ]; then
  log "recreating $VENV (interpreter changed)"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  log "creating $VENV with $PY ($(py_minor "$PY"))"
  "$PY" -m venv "$VENV"
fi

# 3. Install the pinned set from PyPI (pip only).
log "installing eis-toolkit and its weights-of-evidence dependencies (pinned) from PyPI"
REQ_FILE="$(mktemp)"
trap 'rm -f "$REQ_FILE"' EXIT
printf '%s\n' "$REQUIREMENTS" >"$REQ_FILE"
export PIP_DISABLE_PIP_VERSION_CHECK=1
if ! "$VENV/bin/python" -m pip install -q --no-deps --only-binary=:all: "${PIP_EXTRA[@]}" -r "$REQ_FILE"; then
  log "ERROR: pip could not install the pinned packages into $VENV."
  log "ERROR: eis-toolkit 1.1.6 needs CPython 3.9 or 3.10 (this is $(py_minor "$PY")) and binary wheels of"
  log "ERROR: rasterio, fiona, shapely 1.8, pyproj, numpy 1.26 and scipy 1.11 for this platform."
  log "ERROR: Install Python 3.10 (pyenv install 3.10.13) and rerun with BENCH_PYTHON=/path/to/python3.10."
  exit 1
fi

if ! verify; then
  log "ERROR: eis-toolkit's weights of evidence, distance or IDW module does not import in $VENV:"
  "$VENV/bin/python" -c 'import eis_toolkit.prediction.weights_of_evidence, eis_toolkit.vector_processing.idw_interpolation, eis_toolkit.vector_processing.distance_computation' || true
  exit 1
fi
printf '%s\n' "$STAMP_VALUE" >"$STAMP"
log "ready: $VENV (eis-toolkit $("$VENV/bin/python" -c 'import eis_toolkit; print(eis_toolkit.__version__)'))"
