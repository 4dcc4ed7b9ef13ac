#!/usr/bin/env bash
# Creates .venv with AVR and its frameworks (LLaMA-Factory, verl, transformers, torch) at the versions
# locked in requirements/<target>.txt. Idempotent: a second run checks a stamp and returns in seconds.
#
#   bash setup_env.sh [--cpu | --gpu] [--relock]
#
# The target is detected with nvidia-smi unless --cpu or --gpu is given.
#   cpu: torch 2.14.1 + torchvision 0.29.1, llamafactory 0.9.5, verl[verl-core] 0.9.1, transformers 5.5.4,
#        qwen-vl-utils, math-verify; no vllm (verl runs no rollout without a GPU).
#   gpu: the same frameworks with vllm 0.24.0 (the version verl 0.9.1 is built against) and its torch
#        2.11.0, deepspeed, and flash-attn (built against that torch, hence --no-build-isolation).
# --relock: resolve from pyproject.toml alone and rewrite requirements/<target>.txt (maintainers only).
# Env: PYTHON (interpreter, default python3.11 or python3), AVR_VENV (default .venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

TARGET=auto
RELOCK=0
for arg in "$@"; do
  case "$arg" in
    --cpu) TARGET=cpu ;;
    --gpu) TARGET=gpu ;;
    --relock) RELOCK=1 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "setup_env: unknown option $arg (use --cpu, --gpu, --relock)" >&2; exit 2 ;;
  esac
done
if [[ "$TARGET" == auto ]]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then TARGET=gpu; else TARGET=cpu; fi
fi

LOCK="requirements/$TARGET.txt"
VENV="${AVR_VENV:-.venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup_env: Python >= 3.11 is required ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 2; }

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)

STAMP="$VENV/.avr-setup"
WANT="$TARGET $(cat pyproject.toml "$LOCK" setup_env.sh 2>/dev/null | sha256sum | cut -c1-16)"
if [[ "$RELOCK" == 0 && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]] \
   && "$VENV/bin/python" -c 'import avr, llamafactory, verl' >/dev/null 2>&1; then
  echo "setup_env: $VENV is up to date ($TARGET)"
  exit 0
fi

echo "setup_env: installing the $TARGET environment into $VENV"
"${PIP[@]}" install -q "pip==26.3"
if [[ "$RELOCK" == 1 || ! -f "$LOCK" ]]; then
  CONSTRAINT=()
else
  CONSTRAINT=(-c "$LOCK")
fi

if [[ "$TARGET" == cpu ]]; then
  # torch first, alone: pip takes the 2.14.1 / 0.29.1 builds from local disk where it has them.
  "${PIP[@]}" install "${CONSTRAINT[@]}" "torch==2.14.1" "torchvision==0.29.1"
  "${PIP[@]}" install "${CONSTRAINT[@]}" -e ".[sft,rl,eval,dev]"
else
  "${PIP[@]}" install "${CONSTRAINT[@]}" -e ".[sft,rl,eval,dev,gpu]" deepspeed
  # flash-attn compiles against the installed torch; it must see it (no build isolation).
  "${PIP[@]}" install "${CONSTRAINT[@]}" --no-build-isolation "flash-attn"
fi
"${PIP[@]}" check

if [[ "$RELOCK" == 1 ]]; then
  { sed -n '/^#/p' "$LOCK" 2>/dev/null; "${PIP[@]}" freeze --all --exclude-editable | grep -v -e '^avr[= ]' -e '^pip=='; } > "$LOCK.new"
  mv "$LOCK.new" "$LOCK"
  echo "setup_env: rewrote $LOCK"
  WANT="$TARGET $(cat pyproject.toml "$LOCK" setup_env.sh | sha256sum | cut -c1-16)"
fi
echo "$WANT" > "$STAMP"
echo "setup_env: done. Activate with: source $VENV/bin/activate"
