#!/usr/bin/env bash
# Regenerate the README's example evaluation (scripts/example_eval/): run the CPU demo, then copy its
# evaluation reports and plots. Every figure in the README's "Evaluate" section comes from here.
#
#   bash scripts/readme_example.sh [OUT_DIR]     (default outputs/demo)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-outputs/demo}"
cd "$ROOT"
AVR="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}avr"
[[ -x "$ROOT/.venv/bin/avr" && -z "${VIRTUAL_ENV:-}" ]] && AVR="$ROOT/.venv/bin/avr"

"$AVR" demo --out "$OUT"
DEST="$ROOT/scripts/example_eval"
rm -rf "$DEST" && mkdir -p "$DEST/eval"
cp "$OUT/report.md" "$DEST/"
mkdir -p "$DEST/sft" "$DEST/fs_grpo"
cp "$OUT/sft/training_loss.png" "$DEST/sft/"
cp "$OUT/fs_grpo/training_curves.png" "$DEST/fs_grpo/"   # verl's run (CPU backend)
for run in compare sft fs_grpo; do   # what report.md links to
  mkdir -p "$DEST/eval/$run"
  cp "$OUT/eval/$run/"*.md "$OUT/eval/$run/"*.png "$DEST/eval/$run/"
done
if [[ -f "$OUT/effect/report.md" ]]; then   # part 2, the effect (absent with --no-effect)
  mkdir -p "$DEST/effect/plots"
  cp "$OUT/effect/report.md" "$DEST/effect/"
  cp "$OUT/effect/plots/"*.png "$DEST/effect/plots/"
fi
echo "readme_example: wrote $DEST"
