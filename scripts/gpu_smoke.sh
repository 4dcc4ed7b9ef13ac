#!/usr/bin/env bash
# GPU smoke test of stage 2: 2 FS-GRPO steps of a model on 1 GPU, then proof that AVR's reward and
# trainer mode acted: on every step verl's own critic/score/mean equals avr/mean_base +
# avr/mean_diversity_bonus (the bonus reached the scores GRPO normalised), and on the step with
# w(t) > 0 the mean bonus is not 0 (avr/rl/smoke_metrics.py). Metric names alone would prove nothing.
#
#   bash scripts/gpu_smoke.sh MODEL_DIR [DATA_DIR] [hydra overrides ...]
#
# MODEL_DIR: a Qwen3-VL in HF format: the tiny SFT model of the demo (outputs/demo/sft) first, then the
#            SFT model of stage 1. It should answer in several formats, or no group can mix two and
#            the check reports that the bonus could not be shown.
# DATA_DIR:  train.parquet + val.parquet (default: built from 64 synthetic records). Pass "" to keep
#            the default and add overrides.
# Needs a GPU and vllm (setup_env.sh --gpu). Not run in CI: CI has no GPU.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="${1:?usage: gpu_smoke.sh MODEL_DIR [DATA_DIR] [hydra overrides ...]}"
DATA="${2:-}"
shift $(( $# >= 2 ? 2 : 1 ))
OUT="$ROOT/outputs/gpu_smoke"
DATA="${DATA:-$OUT/data}"
PY="$ROOT/.venv/bin/python"
mkdir -p "$OUT"
rm -f "$OUT/metrics.jsonl"

if [[ ! -f "$DATA/train.parquet" ]]; then
  "$PY" -m avr.cli data synthetic --out "$OUT/records" --n 64
  "$PY" -m avr.cli data rl --input "$OUT/records/synthetic.jsonl" --out "$DATA" --val-fraction 0.25
fi

# the scaled-down settings live in the recipe, train_configs/fs_grpo/smoke_1gpu.yaml; verl's file
# logger writes every step's metrics to metrics.jsonl for the check below
VERL_FILE_LOGGER_PATH="$OUT/metrics.jsonl" bash "$ROOT/train-fs-grpo.sh" --recipe smoke_1gpu \
  --sft-model "$MODEL" --data-dir "$DATA" --output-dir "$OUT/ckpt" --gpus 1 \
  "trainer.logger=[console,file]" "$@" 2>&1 | tee "$OUT/train.log"

"$PY" -m avr.rl.smoke_metrics "$OUT/metrics.jsonl" \
  || { echo "gpu_smoke: FAILED (log: $OUT/train.log, metrics: $OUT/metrics.jsonl)" >&2; exit 1; }
echo "gpu_smoke: OK: 2 FS-GRPO steps; the diversity bonus is in verl's scores (log: $OUT/train.log)"
