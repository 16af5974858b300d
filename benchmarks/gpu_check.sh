#!/usr/bin/env bash
# One prepared GPU check for a lent H100/H200 (issue 4 + the issue-2 accuracy table).
#
#   OUT=/some/dir bash benchmarks/gpu_check.sh
#
# Runs from the repository root with PYTHONPATH=$PWD (no install needed; POT is not
# needed either). Every part has its own timeout and its stdout is tee'd into $OUT, so
# a part that fails or times out keeps what it printed and does not stop the others.
# Worst case wall time: 1 + 150 + 45 + 75 + 60 + 120 = 451 s (< 8 min); ABLATION=1 adds 55 s.
# Writes at most 8 files: gpu.txt, train_step_main.md, train_step_batch.md,
# train_step_tta.md, high_dim_defaults.md, high_dim_128.md, high_dim_ablation.md, stderr.log.
# DEVICE=cpu QUICK=1 gives a tiny smoke run of the same script on a CPU.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-/tmp/gpu_check_out}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
DEV="${DEVICE:-cuda}"
ERR="$OUT/stderr.log"
Q=""; DIMS="2,4,8,16,32,64"; D128="128"; SCALE=1; COMPILE="--compile"; TTA="${TTA_DIMS:-2,64}"; HD=""
if [ -n "${QUICK:-}" ]; then Q="--quick"; DIMS="2"; SCALE=3; COMPILE=""; TTA=2; HD="--steps 100"; D128=""; fi
t_start=$(date +%s)

part() {  # part NAME TIMEOUT_S OUTFILE CMD...
  local name=$1 limit=$2 file=$3; shift 3
  echo "== $name (timeout ${limit}s) $(date -u +%H:%M:%S)" | tee -a "$ERR"
  timeout -k 5 $((limit * SCALE)) "$@" 2>>"$ERR" | tee "$OUT/$file"
  local rc=${PIPESTATUS[0]}
  echo "== $name rc=$rc after $(( $(date +%s) - t_start ))s" | tee -a "$ERR"
}

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || echo "nvidia-smi failed"
  "$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available())" 2>&1
  nproc
} > "$OUT/gpu.txt" 2>&1

# 1. train step vs the recipe and the public-code path at batch 1000, eager and compile=True
part train_step_main 150 train_step_main.md \
  "$PY" benchmarks/train_step.py --device "$DEV" $Q $COMPILE --skip batch,tta
# 2. large batches 1e4..1e6: throughput and peak memory
part train_step_batch 45 train_step_batch.md \
  "$PY" benchmarks/train_step.py --device "$DEV" $Q --skip main,tta
# 3. time to accuracy on the 2-D Gaussian and d = 64
part train_step_tta 75 train_step_tta.md \
  "$PY" benchmarks/train_step.py --device "$DEV" $Q --skip main,batch --tta-dims "$TTA"
# 4. issue-2 accuracy table, gn.fit defaults, d = 2..64, both nets
part high_dim_defaults 60 high_dim_defaults.md \
  "$PY" benchmarks/high_dim_gaussians.py --device "$DEV" --dims "$DIMS" $HD --paths defaults
# 5. d = 128 on its own, with its own limit
if [ -n "$D128" ]; then
  part high_dim_128 120 high_dim_128.md \
    "$PY" benchmarks/high_dim_gaussians.py --device "$DEV" --dims "$D128" --paths defaults
fi
# 6. the warm_start=False ablation (optional: recorded already in results/gpu_h200_high_dim_ablation.md)
if [ -n "${ABLATION:-}" ]; then
  part high_dim_ablation 55 high_dim_ablation.md \
    "$PY" benchmarks/high_dim_gaussians.py --device "$DEV" --dims "$DIMS" $HD --paths ablation
fi
# (the recipe rows of the accuracy table need more time than this script has; run
#  `python benchmarks/high_dim_gaussians.py --device cuda --paths recipe` separately)

echo "total $(( $(date +%s) - t_start ))s" | tee -a "$ERR"
exit 0
