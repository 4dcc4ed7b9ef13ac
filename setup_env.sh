#!/usr/bin/env bash
# Creates .venv with AVR and its frameworks (LLaMA-Factory, verl, transformers, torch) at the versions
# locked in requirements/<target>.txt. Idempotent: a second run checks a stamp and returns in seconds.
#
#   bash setup_env.sh [--cpu | --gpu [--cuda-compat DIR]] [--relock]
#
# The target is detected with nvidia-smi unless --cpu or --gpu is given.
#   cpu: torch 2.14.1 + torchvision 0.29.1, llamafactory 0.9.5, verl[verl-core] 0.9.1, transformers 5.5.4,
#        qwen-vl-utils, math-verify; no vllm (on a CPU, verl's rollouts run through avr's HF replica).
#   gpu: the same frameworks with vllm 0.24.0 (the version verl 0.9.1 is built against) and its torch
#        2.11.0, a CUDA 13.0 build: the NVIDIA driver must be >= 580 (checked first, with nvidia-smi).
#        Then deepspeed, and flash-attn 2.8.3 from the prebuilt wheel matching torch's CUDA, torch and
#        Python (the wheel set verl's own cu130/torch 2.11 extra uses), or, where none exists, built
#        against that torch (--no-build-isolation; needs a matching nvcc). Ends with python -m
#        avr.rl.env_check: torch.cuda, flash_attn, vllm, verl, one line for each failure.
#        A driver below 580 (R550/R570, common on H100 clusters) is refused unless NVIDIA's CUDA 13
#        forward-compatibility libraries are there: --cuda-compat DIR (the folder holding the
#        cuda-compat package's libcuda.so.1, e.g. /usr/local/cuda-13.0/compat; found there on its
#        own when present). The launchers then put DIR first on LD_LIBRARY_PATH (docs/setup.md).
# --relock: resolve from pyproject.toml alone and rewrite requirements/<target>.txt (maintainers only).
# Env: PYTHON (interpreter, default python3.11 or python3), AVR_VENV (default .venv).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT"

TARGET=auto
RELOCK=0
CUDA_COMPAT="${CUDA_COMPAT_DIR:-}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpu) TARGET=cpu ;;
    --gpu) TARGET=gpu ;;
    --cuda-compat) CUDA_COMPAT="${2:?--cuda-compat needs the folder holding the compat libcuda.so.1}"; shift ;;
    --relock) RELOCK=1 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "setup_env: unknown option $1 (use --cpu, --gpu, --cuda-compat DIR, --relock)" >&2; exit 2 ;;
  esac
  shift
done
if [[ "$TARGET" == auto ]]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then TARGET=gpu; else TARGET=cpu; fi
fi

# GPU: torch 2.11.0 from PyPI is a CUDA 13.0 build, which needs NVIDIA driver >= 580. Check it before
# installing gigabytes that could not run here.
MIN_DRIVER=580
FLASH_ATTN=2.8.3
FLASH_ATTN_WHEELS="https://github.com/mjun0812/flash-attention-prebuild-wheels/releases/download/v0.9.4"
if [[ "$TARGET" == gpu ]]; then
  DRIVER="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1 || true)"
  if [[ ! "${DRIVER%%.*}" =~ ^[0-9]+$ ]]; then
    echo "setup_env: warning: no NVIDIA driver to check here (nvidia-smi: '${DRIVER}'); the GPU nodes need driver >= $MIN_DRIVER for torch 2.11.0 (CUDA 13.0)" >&2
  elif (( ${DRIVER%%.*} < MIN_DRIVER )); then
    # NVIDIA's forward compatibility: a data-center GPU on an older driver branch runs CUDA 13 through
    # the cuda-compat package's user-mode driver (libcuda.so.1), put first on LD_LIBRARY_PATH.
    if [[ -z "$CUDA_COMPAT" ]]; then
      for d in ${AVR_CUDA_COMPAT_SEARCH:-/usr/local/cuda-13*/compat}; do [[ -e "$d/libcuda.so.1" ]] && CUDA_COMPAT="$d" && break; done
    fi
    if [[ -n "$CUDA_COMPAT" && -e "$CUDA_COMPAT/libcuda.so.1" ]]; then
      echo "setup_env: NVIDIA driver $DRIVER < $MIN_DRIVER: using the CUDA 13 forward-compatibility libraries in $CUDA_COMPAT (the launchers put them first on LD_LIBRARY_PATH)" >&2
    elif [[ -n "$CUDA_COMPAT" ]]; then
      echo "setup_env: error: --cuda-compat $CUDA_COMPAT: no libcuda.so.1 there (install NVIDIA's cuda-compat-13-0 package; docs/setup.md)" >&2
      exit 2
    else
      echo "setup_env: error: NVIDIA driver $DRIVER is too old: torch 2.11.0 (the torch of vllm 0.24.0) is a CUDA 13.0 build and needs driver >= $MIN_DRIVER. Update the driver, or install NVIDIA's CUDA 13 forward-compatibility package (cuda-compat-13-0, data-center GPUs) and pass --cuda-compat DIR (docs/setup.md)" >&2
      exit 2
    fi
  fi
fi

LOCK="requirements/$TARGET.txt"
VENV="${AVR_VENV:-.venv}"
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "setup_env: Python >= 3.11 is required ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 2; }

[[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
# The launchers (train-sft.sh, train-fs-grpo.sh, scripts/) read this to put the compat libraries first.
if [[ "$TARGET" == gpu && -n "$CUDA_COMPAT" ]]; then
  echo "$(cd "$CUDA_COMPAT" && pwd)" > "$VENV/avr-cuda-compat"
  export LD_LIBRARY_PATH="$(cat "$VENV/avr-cuda-compat")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
else
  rm -f "$VENV/avr-cuda-compat"
fi
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
  # flash-attn: the prebuilt wheel for this torch's CUDA, torch and Python (e.g. cu130torch2.11-cp311)
  # where one exists; otherwise a build against the installed torch (no build isolation), which
  # needs an nvcc of torch's CUDA major version.
  read -r FA_TAG FA_PY CUDA_MAJOR < <("$VENV/bin/python" -c 'import sys, torch
c = torch.version.cuda or "0"
t = torch.__version__.split("+")[0].split(".")
print("cu" + c.replace(".", "") + "torch" + t[0] + "." + t[1], "cp%d%d" % sys.version_info[:2], c.split(".")[0])')
  FA_URL="$FLASH_ATTN_WHEELS/flash_attn-$FLASH_ATTN+$FA_TAG-$FA_PY-$FA_PY-linux_x86_64.whl"
  if ! "${PIP[@]}" install "${CONSTRAINT[@]}" "$FA_URL"; then
    echo "setup_env: no prebuilt flash-attn $FLASH_ATTN for $FA_TAG $FA_PY ($FA_URL); building it from source" >&2
    NVCC="$(command -v nvcc || echo "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc")"
    NVCC_MAJOR="$("$NVCC" --version 2>/dev/null | sed -n 's/.*release \([0-9]*\)\..*/\1/p')"
    if [[ "$NVCC_MAJOR" != "$CUDA_MAJOR" ]]; then
      echo "setup_env: error: building flash-attn needs a CUDA $CUDA_MAJOR nvcc (torch is built for CUDA $CUDA_MAJOR); found: ${NVCC_MAJOR:-none}. Install the CUDA $CUDA_MAJOR toolkit and set CUDA_HOME" >&2
      exit 2
    fi
    "${PIP[@]}" install "${CONSTRAINT[@]}" --no-build-isolation "flash-attn==$FLASH_ATTN"
  fi
fi
"${PIP[@]}" check

if [[ "$RELOCK" == 1 ]]; then
  { sed -n '/^#/p' "$LOCK" 2>/dev/null; "${PIP[@]}" freeze --all --exclude-editable | grep -v -e '^avr[= ]' -e '^pip==' \
    | sed -E "s#^flash[-_]attn @ .*#flash-attn==$FLASH_ATTN#"; } > "$LOCK.new"
  mv "$LOCK.new" "$LOCK"
  echo "setup_env: rewrote $LOCK"
  WANT="$TARGET $(cat pyproject.toml "$LOCK" setup_env.sh | sha256sum | cut -c1-16)"
fi
echo "$WANT" > "$STAMP"
if [[ "$TARGET" == gpu ]]; then
  "$VENV/bin/python" -m avr.rl.env_check \
    || { echo "setup_env: installed, but the GPU environment does not work yet (the lines above)" >&2; exit 1; }
fi
echo "setup_env: done. Activate with: source $VENV/bin/activate"
