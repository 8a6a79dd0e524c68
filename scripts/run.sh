#!/usr/bin/env bash
# The main job: set up the environment and summarise every dataset in ../shared/data.
# (Until the shipped default model exists this is `fakescope data summary`; see README.)
#   bash scripts/run.sh [OUTDIR]      # default OUTDIR: out/
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv="${FAKESCOPE_VENV:-.venv}"
out="${1:-out}"
shared="${FAKESCOPE_SHARED_DATA:-../shared/data}"
mkdir -p "$out/data-summary"
for folder in cifake cifake-parquet tiny-genimage-sample genimage-tree genimage_biggan_fixtures commfor-sample cnndetection_ranking; do
  "$venv/bin/fakescope" data summary "$shared/$folder" --json > "$out/data-summary/$folder.json"
  "$venv/bin/fakescope" data summary "$shared/$folder" --no-verify
done
echo "JSON summaries written to $out/data-summary/" >&2
