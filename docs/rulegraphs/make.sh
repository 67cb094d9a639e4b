#!/usr/bin/env bash
# Redraw docs/rulegraphs/<slug>.png: each paper's rule graph at the default scale
# (Snakemake's --rulegraph, rendered by graphviz' dot: `apt-get install graphviz`), with the
# project venv active (`source .venv/bin/activate`).
set -euo pipefail
cd "$(dirname "$0")/../.."
for cfg in config/papers/*.yaml; do
  slug=$(basename "$cfg" .yaml)
  python -m snakemake --rulegraph --config scale=default "papers=[$slug]" 2>/dev/null | dot -Tpng -Gdpi=80 -o "docs/rulegraphs/$slug.png"
  echo "docs/rulegraphs/$slug.png"
done
