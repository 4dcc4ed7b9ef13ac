#!/usr/bin/env bash
# Smoke tests of stage 2, each proving that AVR's reward and group bonus acted: on every step verl's own
# critic/score/mean equals avr/mean_base + avr/mean_diversity_bonus (the bonus reached the scores GRPO
# normalised), and on a step with w(t) > 0 the mean bonus is not 0 (avr/rl/smoke_metrics.py). Metric
# names alone would prove nothing.
#
#   bash scripts/gpu_smoke.sh [--multi] [--gpus N] [--cpu] [--out DIR] [--eval NAME=RECORDS] [--eval-args ARGS]
#                             MODEL_DIR [DATA_DIR] [hydra overrides ...]
#
# Default (single): 2 steps on 1 GPU (train_configs/fs_grpo/smoke_1gpu.yaml); nothing saved.
# --multi: what the first real run will touch: N GPUs (default 8), TP=4 vLLM replicas, multi-rank FSDP2,
#   T = 3 steps, a checkpoint every step, validation every 2. The run is killed (SIGKILL to its process
#   group) once step 1 is checkpointed, then started again: it must resume at step 2, and steps 1-3
#   must log w(1..3) of the run's saved reward config at T = 3 with score = base + bonus. Then the last
#   checkpoint is merged to HF (scripts/merge_checkpoint.sh) and `avr eval` runs on it.
# --cpu: the same sequence on verl's CPU backend (train-fs-grpo.sh --cpu, recipe cpu_tiny; TP does not
#   apply). CI runs `--multi --cpu --gpus 2` (tests/rl/test_verl_cpu.py).
#
# MODEL_DIR: a Qwen3-VL in HF format: the tiny SFT model of the demo (outputs/demo/sft) or the committed
#            avr/assets/digits_sft first, then the SFT model of stage 1. It should answer in several
#            formats, or no group can mix two and the check reports that the bonus could not be shown.
# DATA_DIR:  train.parquet + val.parquet (default: built from 64 synthetic records). Pass "" to keep
#            the default and add overrides.
# --eval NAME=RECORDS: the held-out records `avr eval` scores the merged model on (--multi; default: 16
#            synthetic records); --eval-args "...": more `avr eval` flags (e.g. pixel bounds). --out DIR: where everything goes (default outputs/gpu_smoke[_multi]).
# Without --cpu it needs GPUs and vllm (setup_env.sh --gpu).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
MULTI=0 CPU=0 GPUS="" OUT="" EVAL="" EVAL_EXTRA=""
while [[ $# -gt 0 && "$1" == --* ]]; do
  case "$1" in
    --multi) MULTI=1; shift ;;
    --cpu) CPU=1; shift ;;
    --gpus) GPUS="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --eval) EVAL="$2"; shift 2 ;;
    --eval-args) EVAL_EXTRA="$2"; shift 2 ;;
    *) echo "gpu_smoke: unknown option $1" >&2; exit 2 ;;
  esac
done
MODEL="${1:?usage: gpu_smoke.sh [--multi] [--gpus N] [--cpu] [--out DIR] [--eval NAME=RECORDS] MODEL_DIR [DATA_DIR] [overrides ...]}"
DATA="${2:-}"
shift $(( $# >= 2 ? 2 : 1 ))
if (( MULTI )); then OUT="${OUT:-$ROOT/outputs/gpu_smoke_multi}"; else OUT="${OUT:-$ROOT/outputs/gpu_smoke}"; fi
DATA="${DATA:-$OUT/data}"
mkdir -p "$OUT"

if [[ ! -f "$DATA/train.parquet" ]]; then
  "$PY" -m avr.cli data synthetic --out "$OUT/records" --n 64
  "$PY" -m avr.cli data rl --input "$OUT/records/synthetic.jsonl" --out "$DATA" --val-fraction 0.25
fi

if (( ! MULTI )); then
  rm -f "$OUT/metrics.jsonl"
  # the scaled-down settings live in the recipe; verl's file logger writes every step's metrics to
  # metrics.jsonl for the check below
  BACKEND=(--recipe smoke_1gpu --gpus "${GPUS:-1}")
  (( CPU )) && BACKEND=(--cpu --recipe cpu_tiny --gpus "${GPUS:-1}" trainer.total_training_steps=2)
  VERL_FILE_LOGGER_PATH="$OUT/metrics.jsonl" bash "$ROOT/train-fs-grpo.sh" "${BACKEND[@]}" \
    --sft-model "$MODEL" --data-dir "$DATA" --output-dir "$OUT/ckpt" \
    "trainer.logger=[console,file]" "$@" 2>&1 | tee "$OUT/train.log"
  "$PY" -m avr.rl.smoke_metrics "$OUT/metrics.jsonl" \
    || { echo "gpu_smoke: FAILED (log: $OUT/train.log, metrics: $OUT/metrics.jsonl)" >&2; exit 1; }
  echo "gpu_smoke: OK: 2 FS-GRPO steps; the diversity bonus is in verl's scores (log: $OUT/train.log)"
  exit 0
fi

# --multi: 3 steps, checkpoint each, validate at 2; killed after step 1's checkpoint, resumed
STEPS=3
CKPT="$OUT/ckpt"
rm -rf "$CKPT" "$OUT"/metrics_*.jsonl "$OUT/eval"
if (( CPU )); then
  BACKEND=(--cpu --recipe cpu_tiny --gpus "${GPUS:-2}")
else
  # the smoke recipe's sizes, on the full recipe's parallelism: TP=4 replicas, FSDP2 over every GPU
  BACKEND=(--recipe smoke_1gpu --gpus "${GPUS:-8}" actor_rollout_ref.rollout.tensor_model_parallel_size=4
           data.train_batch_size=16 actor_rollout_ref.actor.ppo_mini_batch_size=16)
fi
TRAIN=(bash "$ROOT/train-fs-grpo.sh" "${BACKEND[@]}" --sft-model "$MODEL" --data-dir "$DATA" --output-dir "$CKPT"
       "trainer.total_training_steps=$STEPS" trainer.save_freq=1 trainer.test_freq=2 "trainer.logger=[console,file]" "$@")
LATEST="$CKPT/latest_checkpointed_iteration.txt"
WAIT_S="${AVR_SMOKE_WAIT_S:-1800}"

# part 1: in a session of its own, so that one SIGKILL reaches verl, Ray and every worker
VERL_FILE_LOGGER_PATH="$OUT/metrics_1.jsonl" setsid "${TRAIN[@]}" > "$OUT/train_1.log" 2>&1 &
PID=$!
START=$SECONDS
until [[ "$(cat "$LATEST" 2>/dev/null)" == 1 ]] && grep -q '"step": *1[,}]' "$OUT/metrics_1.jsonl" 2>/dev/null; do
  if ! kill -0 "$PID" 2>/dev/null; then
    echo "gpu_smoke: FAILED: the run ended before its step-1 checkpoint (log: $OUT/train_1.log)" >&2; exit 1
  fi
  if (( SECONDS - START > WAIT_S )); then
    kill -9 -- "-$PID" 2>/dev/null || true
    echo "gpu_smoke: FAILED: no step-1 checkpoint in $WAIT_S s (log: $OUT/train_1.log)" >&2; exit 1
  fi
  sleep 1
done
kill -9 -- "-$PID" 2>/dev/null || true
wait "$PID" 2>/dev/null || true
echo "gpu_smoke: killed after step 1's checkpoint ($(( SECONDS - START )) s); resuming"

# part 2: the same command resumes (trainer.resume_mode=auto) and runs steps 2 and 3
VERL_FILE_LOGGER_PATH="$OUT/metrics_2.jsonl" "${TRAIN[@]}" 2>&1 | tee "$OUT/train_2.log"
grep -q "resuming from step 1" "$OUT/train_2.log" \
  || { echo "gpu_smoke: FAILED: the second start did not resume from step 1" >&2; exit 1; }

"$PY" -m avr.rl.smoke_metrics "$OUT/metrics_1.jsonl" "$OUT/metrics_2.jsonl" --steps 1,2,3 \
  --total-steps "$STEPS" --reward-config "$CKPT/avr_reward_config.yaml" \
  || { echo "gpu_smoke: FAILED (logs: $OUT/train_[12].log, metrics: $OUT/metrics_[12].jsonl)" >&2; exit 1; }
grep -q '"val-core/' "$OUT/metrics_2.jsonl" \
  || { echo "gpu_smoke: FAILED: no validation metrics at step 2 (test_freq=2)" >&2; exit 1; }

bash "$ROOT/scripts/merge_checkpoint.sh" "$CKPT"
MERGED="$CKPT/global_step_$STEPS/actor_hf"
if [[ -z "$EVAL" ]]; then
  "$PY" -m avr.cli data synthetic --out "$OUT/heldout" --n 16 --seed 7
  EVAL="synthetic=$OUT/heldout/synthetic.jsonl"
fi
EVAL_ARGS=(--backend vllm)
(( CPU )) && EVAL_ARGS=(--backend hf)
read -r -a MORE <<< "$EVAL_EXTRA"
"$PY" -m avr.cli eval --model "$MERGED" --benchmarks "$EVAL" --out "$OUT/eval" --max-new-tokens 64 \
  "${EVAL_ARGS[@]}" "${MORE[@]}"
echo "gpu_smoke: OK: killed at step 1, resumed to step $STEPS with w(t) continuing; the bonus is in" \
  "verl's scores on every step; merged ($MERGED) and evaluated ($OUT/eval/report.md)"
