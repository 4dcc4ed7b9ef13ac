#!/usr/bin/env bash
# Regenerate the README's result (scripts/experiment_result/): copy the miniature experiment's report,
# figures and numbers from a finished `avr demo --full` (or `avr experiment digits`) run directory.
# Every figure at the top of the README comes from here.
#
#   bash scripts/readme_result.sh [RUN_DIR]     (default outputs/demo-full; run `avr demo --full` first)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN="${1:-outputs/demo-full}"
cd "$ROOT"
[[ -f "$RUN/report.md" ]] || { echo "readme_result: no $RUN/report.md; run: .venv/bin/avr demo --full" >&2; exit 1; }
DEST="$ROOT/scripts/experiment_result"
rm -rf "$DEST" && mkdir -p "$DEST/plots"
cp "$RUN/report.md" "$RUN/results.json" "$RUN/summary.json" "$DEST/"
cp "$RUN/plots/"*.png "$DEST/plots/"
for curves in "$RUN"/grpo/*/training_curves.png; do
  run="$(basename "$(dirname "$curves")")"
  mkdir -p "$DEST/grpo/$run" && cp "$curves" "$DEST/grpo/$run/"
done
[[ -f "$RUN/sft/training_loss.png" ]] && mkdir -p "$DEST/sft" && cp "$RUN/sft/training_loss.png" "$DEST/sft/"
echo "readme_result: wrote $DEST"
