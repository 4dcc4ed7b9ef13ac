#!/usr/bin/env bash
# Merge a verl FSDP actor checkpoint into a Hugging Face model directory (python -m verl.model_merger),
# then check that it loads with transformers and holds the processor and tokenizer (ready for vLLM
# and evaluation).
#
#   bash scripts/merge_checkpoint.sh CKPT_DIR [global_step_N | N] [--target-dir DIR]
#
# CKPT_DIR is trainer.default_local_dir (it holds global_step_N/actor). Without a step, the latest
# global_step_N is merged. The default target is CKPT_DIR/global_step_N/actor_hf.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
die() { echo "merge_checkpoint: error: $*" >&2; exit 2; }

CKPT="" STEP="" TARGET=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --target_dir) echo "merge_checkpoint: note: --target_dir is deprecated, use --target-dir (the old spelling goes in the next release)" >&2
                  TARGET="${2:?--target-dir needs a path}"; shift 2 ;;
    --target-dir) TARGET="${2:?--target-dir needs a path}"; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) if [[ -z "$CKPT" ]]; then CKPT="$1"; elif [[ -z "$STEP" ]]; then STEP="$1"; else die "unexpected argument $1"; fi; shift ;;
  esac
done
[[ -n "$CKPT" ]] || die "usage: merge_checkpoint.sh CKPT_DIR [global_step_N | N] [--target-dir DIR]"
[[ -d "$CKPT" ]] || die "checkpoint directory not found: $CKPT"

if [[ -z "$STEP" ]]; then
  STEP=$(find "$CKPT" -maxdepth 1 -type d -name 'global_step_*' -printf '%f\n' | sed 's/global_step_//' | sort -n | tail -1)
  [[ -n "$STEP" ]] || die "no global_step_N directory in $CKPT"
fi
STEP="${STEP#global_step_}"
ACTOR="$CKPT/global_step_$STEP/actor"
[[ -f "$ACTOR/fsdp_config.json" ]] || die "$ACTOR: no fsdp_config.json (not a verl FSDP actor checkpoint)"
TARGET="${TARGET:-$CKPT/global_step_$STEP/actor_hf}"

if [[ -z "${VIRTUAL_ENV:-}" && -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"; else PY="$(command -v python)"; fi
echo "merge_checkpoint: merging $ACTOR -> $TARGET"
"$PY" -m verl.model_merger merge --backend fsdp --local_dir "$ACTOR" --target_dir "$TARGET"
"$PY" -m avr.rl.merge_check "$TARGET"
