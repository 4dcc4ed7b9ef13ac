#!/usr/bin/env bash
# Stage 2: GRPO with AVR's adaptive reward on stock verl (python -m verl.trainer.main_ppo).
#
#   bash train-fs-grpo.sh --sft-model PATH --data-dir DIR --output-dir DIR
#                         [--recipe YAML|NAME] [--gpus N] [--nnodes N] [--cpu] [--dry-run] [hydra overrides ...]
#
# --recipe   a Hydra recipe inheriting verl's ppo_trainer (default: train_configs/fs_grpo/qwen3vl_2b.yaml)
# --data-dir holds train.parquet and val.parquet from `avr data rl`
# --gpus     GPUs per node (default: all that nvidia-smi lists); --nnodes: Ray nodes (default 1)
# --cpu      run on the CPU backend (avr/rl/cpu: verl's cpu platform, the hf rollout, gloo), also chosen
#            when no GPU is visible; --gpus N is then the number of CPU workers (FSDP ranks, default 1).
#            Recipe for it: cpu_tiny. Threads per worker: AVR_CPU_THREADS (default: cores / workers).
# --dry-run  print the config exactly as verl resolves it (recipe + overrides, plugin loaded), check it
#            with verl's validate_config and avr's checks (avr/rl/config_check.py), then exit without
#            starting Ray; works on a CPU. A real run makes the same check before Ray starts.
# Multi-node: start a Ray head on node 0 and join the workers first (scripts/slurm/), then run this on
# node 0 with --nnodes. A rerun resumes from the latest checkpoint in --output-dir (verl's resume_mode=auto).
# Without a GPU, verl's own loop runs on the CPU backend: FSDP2 over gloo and transformers rollouts
# instead of NCCL and vLLM (slow; for tests, the demo and small models).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "train-fs-grpo: error: $*" >&2; exit 2; }
# The snake_case spellings of the long options still work for one release.
renamed() { echo "train-fs-grpo: note: $1 is deprecated, use $2 (the old spelling goes in the next release)" >&2; }
abspath() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }

RECIPE="qwen3vl_2b" SFT_MODEL="" DATA_DIR="" OUTPUT_DIR="" GPUS="" NNODES=1 DRY_RUN=0 CPU=0
OVERRIDES=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --sft_model|--data_dir|--output_dir) renamed "$1" "${1//_/-}"; set -- "${1//_/-}" "${@:2}" ;;
    --sft-model) SFT_MODEL="$(abspath "${2:?--sft-model needs a path}")"; shift 2 ;;
    --data-dir) DATA_DIR="$(abspath "${2:?--data-dir needs a path}")"; shift 2 ;;
    --output-dir) OUTPUT_DIR="$(abspath "${2:?--output-dir needs a path}")"; shift 2 ;;
    --recipe) RECIPE="${2:?--recipe needs a value}"; shift 2 ;;
    --gpus) GPUS="${2:?--gpus needs a number}"; shift 2 ;;
    --nnodes) NNODES="${2:?--nnodes needs a number}"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    --cpu) CPU=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    --*) die "unknown option $1 (Hydra overrides are key=value, without dashes)" ;;
    *) OVERRIDES+=("$1"); shift ;;
  esac
done

if [[ -f "$RECIPE" ]]; then RECIPE="$(abspath "$RECIPE")"
elif [[ -f "$ROOT/train_configs/fs_grpo/${RECIPE%.yaml}.yaml" ]]; then RECIPE="$ROOT/train_configs/fs_grpo/${RECIPE%.yaml}.yaml"
else die "recipe not found: $RECIPE (known: $(cd "$ROOT/train_configs/fs_grpo" && ls *.yaml | tr '\n' ' '))"
fi

cd "$ROOT"
# CUDA 13 forward-compatibility libraries, when setup_env.sh --gpu chose them for an older driver.
COMPAT="${VIRTUAL_ENV:-$ROOT/.venv}/avr-cuda-compat"
[[ -f "$COMPAT" ]] && export LD_LIBRARY_PATH="$(cat "$COMPAT")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [[ -z "${VIRTUAL_ENV:-}" && -x "$ROOT/.venv/bin/python" ]]; then PY="$ROOT/.venv/bin/python"; else PY="$(command -v python)"; fi

ARGS=()
[[ -n "$SFT_MODEL" ]] && ARGS+=("actor_rollout_ref.model.path=$SFT_MODEL")
[[ -n "$DATA_DIR" ]] && ARGS+=("data.train_files=$DATA_DIR/train.parquet" "data.val_files=$DATA_DIR/val.parquet")
[[ -n "$OUTPUT_DIR" ]] && ARGS+=("trainer.default_local_dir=$OUTPUT_DIR")
[[ -n "$GPUS" ]] && ARGS+=("trainer.n_gpus_per_node=$GPUS")
ARGS+=("trainer.nnodes=$NNODES")
if [[ -n "${WANDB_API_KEY:-}" ]] || grep -qs "api.wandb.ai" "$HOME/.netrc"; then
  ARGS+=("trainer.logger=[console,tensorboard,wandb]")
fi
N_VISIBLE=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
if [[ "$CPU" == 0 && "$DRY_RUN" == 0 && -z "${RAY_ADDRESS:-}" && "$N_VISIBLE" -eq 0 ]]; then
  echo "train-fs-grpo: no GPU visible (nvidia-smi): running on the CPU backend (--cpu)"
  CPU=1
fi
# verl imports these in every process (verl/__init__.py): avr.rl.verl_fixes mends verl 0.9.1's equal-length
# mRoPE position_ids (the module says why), on GPUs and CPUs alike.
export VERL_USE_EXTERNAL_MODULES="${VERL_USE_EXTERNAL_MODULES:+$VERL_USE_EXTERNAL_MODULES,}avr.rl.verl_fixes"
if [[ "$CPU" == 1 ]]; then
  # What makes stock verl run on a CPU (avr/rl/cpu/): verl imports the cpu platform, the patches and the
  # hf rollout in every process; VERL_ENGINE_DEVICE=cuda picks verl's FSDP engine (registered for cuda
  # only); Ray's resource pool gets one fake GPU slot per worker, and at least 16 CPU slots (verl's
  # helper actors each reserve one; the thread counts below, not the slots, bound the compute); sdpa
  # attention without packed sequences (both need flash-attn otherwise); no torch.compile; no Ray
  # dashboard (a dozen processes that start with Ray).
  [[ "$NNODES" == 1 ]] || die "--cpu runs on one node (got --nnodes $NNODES)"
  [[ -n "$GPUS" ]] || ARGS+=("trainer.n_gpus_per_node=1")
  WORKERS="${GPUS:-1}"
  THREADS="${AVR_CPU_THREADS:-$(( $(nproc) / WORKERS > 0 ? $(nproc) / WORKERS : 1 ))}"
  export VERL_PLATFORM=cpu VERL_ENGINE_DEVICE=cuda
  export VERL_USE_EXTERNAL_MODULES="$VERL_USE_EXTERNAL_MODULES,avr.rl.cpu.platform,avr.rl.cpu.patches,avr.rl.cpu.rollout"
  export OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" TQ_NUM_THREADS="$THREADS" TOKENIZERS_PARALLELISM=false
  export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
  # Ray folds log lines that differ only in numbers ("replica 0 ... step 2" and "replica 1 ... step 2")
  # within 5 s into one "[repeated 2x]": which replica's line survives is a race, and the per-replica
  # lines are what benchmarks/verl_cpu_step.py and the tests read. The CPU backend has few workers.
  export RAY_DEDUP_LOGS="${RAY_DEDUP_LOGS:-0}"
  ARGS+=("trainer.device=cpu" "+ray_kwargs.ray_init.num_gpus=$WORKERS"
         "ray_kwargs.ray_init.num_cpus=$(( $(nproc) > 16 ? $(nproc) : 16 ))" "+ray_kwargs.ray_init.include_dashboard=false"
         "actor_rollout_ref.rollout.name=hf" "+actor_rollout_ref.model.override_config.attn_implementation=sdpa"
         "actor_rollout_ref.model.use_remove_padding=false"
         "actor_rollout_ref.actor.fsdp_config.use_torch_compile=false"
         "actor_rollout_ref.ref.fsdp_config.use_torch_compile=false"
         "+actor_rollout_ref.rollout.engine_kwargs.hf.num_threads=$THREADS")
  GPUS="$WORKERS"
fi
# --config-dir adds the recipe folder to the search path beside verl's own config folder, so a recipe
# inherits ppo_trainer (and the presets inherit qwen3vl_2b) through plain Hydra defaults.
CMD=("$PY" -m verl.trainer.main_ppo "--config-dir=$(dirname "$RECIPE")" "--config-name=$(basename "$RECIPE" .yaml)"
     "${ARGS[@]}" "${OVERRIDES[@]}")

# verl's main() validates the config, but `--cfg job` skips main(), and verl meets some problems only
# on the GPUs: check the config verl composed (avr.rl.config_check) before anything starts.
CFG=""
check_config() {
  CFG="$("${CMD[@]}" --cfg job --resolve)" || die "verl could not compose the config (its error is above)"
  printf '%s\n' "$CFG" | "$PY" -m avr.rl.config_check - || exit 2
  [[ "$DRY_RUN" == 1 ]] && printf '%s\n' "$CFG"
  return 0
}
if [[ "$DRY_RUN" == 1 ]]; then
  check_config
  exit 0
fi

# Checks before starting Ray: the model, the data, the GPUs.
[[ -n "$SFT_MODEL" ]] || die "--sft-model is required (the HF directory written by train-sft.sh)"
[[ -f "$SFT_MODEL/config.json" ]] || die "--sft-model $SFT_MODEL: no config.json, not a Hugging Face model directory"
[[ -n "$DATA_DIR" ]] || die "--data-dir is required (build it with: avr data rl --input RECORDS --out DIR)"
for f in train.parquet val.parquet; do
  [[ -f "$DATA_DIR/$f" ]] || die "--data-dir $DATA_DIR: $f is missing (build it with: avr data rl --out $DATA_DIR)"
  [[ -s "$DATA_DIR/$f" ]] || die "--data-dir $DATA_DIR: $f is empty (build it with: avr data rl --out $DATA_DIR)"
done
[[ -n "$OUTPUT_DIR" ]] || die "--output-dir is required"
if [[ "$CPU" == 1 ]]; then
  echo "train-fs-grpo: CPU backend, $GPUS worker(s) x $THREADS thread(s)"
elif [[ -n "${RAY_ADDRESS:-}" && -n "$GPUS" ]]; then
  # attached to a running Ray cluster (scripts/slurm/): its nodes declared their GPUs to Ray, and
  # this driver's own step may not see any
  echo "train-fs-grpo: using the Ray cluster at $RAY_ADDRESS, $GPUS GPU(s) per node x $NNODES node(s)"
else
  [[ "$N_VISIBLE" -gt 0 ]] || die "no GPU visible (nvidia-smi). On GPUs, check the driver; on a CPU, --cpu runs verl's loop on the CPU backend (--dry-run checks the config)"
  GPUS="${GPUS:-$N_VISIBLE}"
  [[ "$GPUS" -le "$N_VISIBLE" ]] || die "--gpus $GPUS but only $N_VISIBLE GPU(s) visible on this node"
fi
[[ " ${ARGS[*]} " == *" trainer.n_gpus_per_node="* ]] || CMD+=("trainer.n_gpus_per_node=$GPUS")
check_config
# The reward preset, resolved once for the whole run (and kept on resume): every reward worker and
# the trainer read this one file (avr/rl/frozen_preset.py).
FROZEN="$(printf '%s\n' "$CFG" | "$PY" -m avr.rl.frozen_preset -)" || exit 2
CMD+=("++avr.reward_config=$FROZEN")
echo "train-fs-grpo: reward config of this run: $FROZEN"

LATEST="$OUTPUT_DIR/latest_checkpointed_iteration.txt"
[[ -f "$LATEST" ]] && echo "train-fs-grpo: resuming from step $(cat "$LATEST") in $OUTPUT_DIR"
echo "train-fs-grpo: ${CMD[*]}"
"${CMD[@]}"
echo "train-fs-grpo: checkpoints in $OUTPUT_DIR (merge the actor with scripts/merge_checkpoint.sh $OUTPUT_DIR)"
