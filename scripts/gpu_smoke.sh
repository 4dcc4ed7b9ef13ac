#!/usr/bin/env bash
# GPU smoke test of stage 2: 2 FS-GRPO steps of a small model on 1 GPU, then a check that AVR's reward
# and trainer mode really ran (their avr/* metrics are in the log).
#
#   bash scripts/gpu_smoke.sh MODEL_DIR [DATA_DIR]
#
# MODEL_DIR: a small HF Qwen3-VL (e.g. the SFT output of the tiny_cpu recipe, or Qwen3-VL-2B).
# DATA_DIR: train.parquet + val.parquet (default: built from 64 synthetic records).
# Needs a GPU and vllm (setup_env.sh --gpu). Not run in CI: CI has no GPU.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="${1:?usage: gpu_smoke.sh MODEL_DIR [DATA_DIR]}"
OUT="$ROOT/outputs/gpu_smoke"
DATA="${2:-$OUT/data}"
PY="$ROOT/.venv/bin/python"
mkdir -p "$OUT"

if [[ ! -f "$DATA/train.parquet" ]]; then
  "$PY" -m avr.cli data synthetic --out "$OUT/records" --n 64
  "$PY" -m avr.cli data rl --input "$OUT/records/synthetic.jsonl" --out "$DATA" --val-fraction 0.25
fi

# the scaled-down settings live in the recipe, train_configs/fs_grpo/smoke_1gpu.yaml
bash "$ROOT/train-fs-grpo.sh" --recipe smoke_1gpu --sft_model "$MODEL" --data_dir "$DATA" \
  --output_dir "$OUT/ckpt" --gpus 1 2>&1 | tee "$OUT/train.log"

for metric in avr/diversity_weight avr/f1_answer/share avr/mean_base; do
  grep -q "$metric" "$OUT/train.log" || { echo "gpu_smoke: FAILED: $metric not in the log" >&2; exit 1; }
done
echo "gpu_smoke: OK: 2 FS-GRPO steps ran with avr's reward manager and trainer mode (log: $OUT/train.log)"
