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

bash "$ROOT/train-fs-grpo.sh" --sft_model "$MODEL" --data_dir "$DATA" --output_dir "$OUT/ckpt" --gpus 1 \
  data.train_batch_size=4 data.val_batch_size=4 data.max_prompt_length=1024 data.max_response_length=256 \
  actor_rollout_ref.actor.ppo_mini_batch_size=4 actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=1 \
  actor_rollout_ref.rollout.tensor_model_parallel_size=1 actor_rollout_ref.rollout.gpu_memory_utilization=0.4 \
  actor_rollout_ref.rollout.n=4 trainer.total_training_steps=2 trainer.save_freq=-1 trainer.test_freq=-1 \
  trainer.val_before_train=false trainer.logger=[console] 2>&1 | tee "$OUT/train.log"

for metric in avr/diversity_weight avr/f1_answer/share avr/mean_base; do
  grep -q "$metric" "$OUT/train.log" || { echo "gpu_smoke: FAILED: $metric not in the log" >&2; exit 1; }
done
echo "gpu_smoke: OK: 2 FS-GRPO steps ran with avr's reward manager and trainer mode (log: $OUT/train.log)"
