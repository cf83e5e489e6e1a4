#!/usr/bin/env bash
# Install the peer frameworks for bench/compare.py, each in its own virtual environment beside this script:
#   .venv-flaml      flaml[automl]
#   .venv-autogluon  torch==2.13.0 first (the local CPU wheel), then autogluon.tabular[all]
#   .venv-recsys     scikit-surprise and implicit (recommender peers, for run_recsys.py), numpy pandas scipy
# All also get pyarrow, to read the benchmark's Parquet split files. Nothing else is pinned. Safe to run again:
# an existing environment is reused and pip leaves satisfied requirements alone. Writes installed_versions.txt.
#
# Usage: bash bench/peers/install.sh [flaml|autogluon|recsys ...]    (default: all three)
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
PIP_QUIET=(-q)

venv() {  # create the environment unless it already has a working interpreter
    if [ ! -x "$1/bin/python" ] || ! "$1/bin/python" -c "import sys" 2>/dev/null; then
        "$PYTHON" -m venv "$1"
        "$1/bin/python" -m pip install "${PIP_QUIET[@]}" --upgrade pip
    fi
}

install_flaml() {
    venv .venv-flaml
    .venv-flaml/bin/python -m pip install "${PIP_QUIET[@]}" "flaml[automl]" pyarrow
}

install_autogluon() {
    venv .venv-autogluon
    # torch before AutoGluon and pinned: left to AutoGluon's requirements pip would fetch the CUDA build (GBs).
    .venv-autogluon/bin/python -m pip install "${PIP_QUIET[@]}" torch==2.13.0
    # Named again so that pip keeps that torch instead of replacing it while resolving AutoGluon.
    # [all]: plain autogluon.tabular has none of LightGBM, CatBoost, XGBoost, fastai or Ray, the models and the
    # parallel bagging its presets rely on; [all] is the install AutoGluon documents.
    .venv-autogluon/bin/python -m pip install "${PIP_QUIET[@]}" "autogluon.tabular[all]" torch==2.13.0 pyarrow
}

install_recsys() {
    venv .venv-recsys
    .venv-recsys/bin/python -m pip install "${PIP_QUIET[@]}" scikit-surprise implicit numpy pandas scipy pyarrow
}

record_versions() {  # an environment absent here keeps its line from the previous installed_versions.txt
    local previous=""
    [ -f installed_versions.txt ] && previous=$(cat installed_versions.txt)
    {
        echo "# Written by install.sh on $(date -u +%Y-%m-%dT%H:%MZ); full lists: .venv-*/installed.txt"
        for env in .venv-flaml .venv-autogluon .venv-recsys; do
            if [ ! -x "$env/bin/python" ]; then
                grep -F "$env (" <<<"$previous" || true
                continue
            fi
            "$env/bin/python" -m pip freeze > "$env/installed.txt"
            "$env/bin/python" - "$env" <<'PY'
import sys
from importlib import metadata

names = ("flaml", "autogluon.tabular", "autogluon.core", "torch", "lightgbm", "xgboost", "xgboost-cpu", "catboost",
         "scikit-learn", "scikit-surprise", "implicit",
         "numpy", "pandas", "scipy", "pyarrow", "ray", "fastai")
found = []
for name in names:
    try:
        found.append(f"{name}=={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        pass
print(f"{sys.argv[1]} (Python {sys.version.split()[0]}): {' '.join(found)}")
PY
        done
    } > installed_versions.txt
    cat installed_versions.txt
}

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(flaml autogluon recsys)
for target in "${targets[@]}"; do
    case "$target" in
        flaml) install_flaml ;;
        autogluon) install_autogluon ;;
        recsys) install_recsys ;;
        *) echo "unknown peer '$target'; valid: flaml autogluon recsys" >&2; exit 2 ;;
    esac
done
record_versions
