#!/usr/bin/env bash
# Rebuild the plain demo's committed checkpoint, avr/assets/digits_sft: stage 1 of the miniature
# experiment (the small Qwen3-VL trained from scratch on the digits world through LLaMA-Factory,
# ~9 min on 2 cores), stored in bf16 (~6 MB).
#
#   bash scripts/build_demo_checkpoint.sh [OUT_DIR]     (default outputs/demo-full, shared with avr demo --full)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:-outputs/demo-full}"
cd "$ROOT"
BIN="${VIRTUAL_ENV:+$VIRTUAL_ENV/bin/}"
[[ -x "$ROOT/.venv/bin/avr" && -z "${VIRTUAL_ENV:-}" ]] && BIN="$ROOT/.venv/bin/"

"${BIN}avr" experiment digits --out "$OUT" --until sft
"${BIN}python" -m avr.miniature.experiment.checkpoint "$OUT/sft" "$ROOT/avr/assets/digits_sft"
echo "build_demo_checkpoint: wrote avr/assets/digits_sft from $OUT/sft"
