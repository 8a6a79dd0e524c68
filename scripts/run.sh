#!/usr/bin/env bash
# The main job: set up the environment, then run the shipped default model over real images from
# ../shared/data and write the HTML report.
#   bash scripts/run.sh [OUTDIR]      # default OUTDIR: out/
#
#   0. fakescope detect   the default verdict pipeline (evidence, then the CIFAKE and native-resolution
#                         models inside their domains, else "uncertain") over real files that carry
#                         evidence or lack it, and native-resolution images: verdict + reason per file
#                         -> OUTDIR/detect/verdicts.jsonl, and the table on stderr
#   1. fakescope detect   the CIFAKE test folders in their native form (2,000 JPEGs)
#                         -> OUTDIR/detect/cifake-test.csv (one verdict per image)
#   2. fakescope evaluate the cifake-parquet test split, de-duplicated against its train split,
#                         clean + GenImage's six degradations + JPEG 75: the model card's protocol
#                         -> OUTDIR/report/{report.html, metrics.json, predictions.parquet, figures/}
#   3. compares the report's numbers with the model card's and says whether they match
#   4. fakescope data summary of every shared dataset -> OUTDIR/data-summary/*.json
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
venv="${FAKESCOPE_VENV:-.venv}"
fs="$venv/bin/fakescope"
out="${1:-out}"
shared="${FAKESCOPE_SHARED_DATA:-../shared/data}"
mkdir -p "$out/detect" "$out/report" "$out/data-summary"

# What a user sees on real files: provenance-signed and ComfyUI images, a UI screenshot, photographs,
# and one native-resolution test image of each of native-pool's 16 classes (the first in its manifest).
native=$(awk -F, 'NR > 1 && $4 == "test" && !seen[$3]++ {print "'"$shared"'/native-pool/" $1}' "$shared/native-pool/manifest.csv")
"$fs" detect "$shared/provenance" --recursive $native --format jsonl --output "$out/detect/verdicts.jsonl"
"$fs" detect "$shared/provenance" --recursive $native --format table --no-progress >&2

"$fs" detect "$shared/cifake/test" --recursive --format csv --output "$out/detect/cifake-test.csv"
"$fs" evaluate --data "$shared/cifake-parquet" --split test --dedup-against "$shared/cifake-parquet:train" \
  --degrade genimage,jpeg:75 --out "$out/report" > /dev/null  # metrics.json holds what it prints
"$venv/bin/python" scripts/compare_card.py "$out/report/metrics.json"

for folder in cifake cifake-parquet tiny-genimage-sample genimage-tree genimage_biggan_fixtures commfor-sample cnndetection_ranking native-pool; do
  "$fs" data summary "$shared/$folder" --json > "$out/data-summary/$folder.json"
done
echo "verdicts: $out/detect/verdicts.jsonl $out/detect/cifake-test.csv  report: $out/report/report.html  summaries: $out/data-summary/" >&2
