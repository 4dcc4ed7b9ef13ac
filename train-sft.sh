#!/usr/bin/env bash
# Stage 1: multi-format SFT with LLaMA-Factory.
#
#   bash train-sft.sh [RECIPE] [key=value ...]
#
# RECIPE: a YAML path, or a name under train_configs/sft/ (default: qwen3vl_2b_full_sft, the paper's).
# Overrides go to `llamafactory-cli train` unchanged. Relative paths in recipes and overrides are
# relative to this checkout. Multi-GPU: FORCE_TORCHRUN=1 (automatic with several visible GPUs);
# multi-node: NNODES, NODE_RANK, MASTER_ADDR, MASTER_PORT (and NPROC_PER_NODE), read by
# LLaMA-Factory's launcher. A rerun resumes from the last checkpoint in output_dir.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RECIPE="${1:-qwen3vl_2b_full_sft}"
[[ $# -gt 0 ]] && shift

# Resolve the recipe before changing directory: a path from the caller's cwd, or a name.
if [[ -f "$RECIPE" ]]; then
  RECIPE="$(cd "$(dirname "$RECIPE")" && pwd)/$(basename "$RECIPE")"
elif [[ -f "$ROOT/$RECIPE" ]]; then
  RECIPE="$ROOT/$RECIPE"
elif [[ -f "$ROOT/train_configs/sft/${RECIPE%.yaml}.yaml" ]]; then
  RECIPE="$ROOT/train_configs/sft/${RECIPE%.yaml}.yaml"
else
  echo "train-sft: error: recipe not found: $RECIPE (known: $(cd "$ROOT/train_configs/sft" && ls *.yaml | tr '\n' ' '))" >&2
  exit 2
fi

cd "$ROOT"
# CUDA 13 forward-compatibility libraries, when setup_env.sh --gpu chose them for an older driver.
COMPAT="${VIRTUAL_ENV:-$ROOT/.venv}/avr-cuda-compat"
[[ -f "$COMPAT" ]] && export LD_LIBRARY_PATH="$(cat "$COMPAT")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [[ -z "${VIRTUAL_ENV:-}" && -x "$ROOT/.venv/bin/llamafactory-cli" ]]; then
  export PATH="$ROOT/.venv/bin:$PATH"
fi
command -v llamafactory-cli >/dev/null || { echo "train-sft: error: llamafactory-cli not found; run setup_env.sh" >&2; exit 2; }
PY="$(dirname "$(command -v llamafactory-cli)")/python"  # the interpreter LLaMA-Factory runs in

if [[ "${NNODES:-1}" -gt 1 ]]; then
  export FORCE_TORCHRUN=1
fi

"$PY" -m avr.sft.preflight sft-preflight "$RECIPE" "$@"
echo "train-sft: llamafactory-cli train $RECIPE $*"
llamafactory-cli train "$RECIPE" "$@"
if [[ "${NODE_RANK:-0}" == "0" ]]; then
  "$PY" -m avr.sft.preflight sft-report "$RECIPE" "$@"
fi
