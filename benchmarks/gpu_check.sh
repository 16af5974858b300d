#!/usr/bin/env bash
# One prepared GPU check for a lent H100/H200: training-step throughput against the paper's recipe and
# the public-code path (same rotation, eager and compile=True), the high-dimension log-det sweep, the
# known-map accuracy benchmark on teacher-potential pairs up to d = 256, and (CHAPTERS=1) full-mode
# chapter times.
#
#   OUT=/some/dir bash benchmarks/gpu_check.sh
#
# Runs from the repository root with PYTHONPATH=$PWD (no install needed). Every part has its own
# timeout and its stdout is tee'd into $OUT, so a part that fails or times out keeps what it printed
# and does not stop the others.
# Worst case wall time: 150 + 90 + 200 = 440 s (< 8 min); CHAPTERS=1 is a separate call (up to 540 s).
# Writes at most 8 files: gpu.txt, train_step_main.md, dim_sweep.md, known_maps.md, known_maps.json,
# chapters.txt, stderr.log.
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
# 2. the log-det dimension sweep: full Cholesky path vs the low-rank (determinant-lemma) path
part dim_sweep 90 dim_sweep.md \
  "$PY" benchmarks/train_step.py --device "$DEV" --sweep $( [ -n "${QUICK:-}" ] && echo "--sweep-dims 16,32 --reps 1 --block 2 --fit-steps 0" )
# 3. accuracy on teacher-potential pairs (non-affine known maps), every method, one seed, d up to 256
KM_DIMS="${KM_DIMS:-16 64 128 256}"; KM="--steps 1000 --batch 1000 --seeds 1"
if [ -n "${QUICK:-}" ]; then KM_DIMS=""; KM="--fast"; fi
part known_maps 200 known_maps.md \
  "$PY" benchmarks/known_maps.py --device "$DEV" ${KM_DIMS:+--dims $KM_DIMS} $KM --budgets steps \
  --json "$OUT/known_maps.json"
# 4. (CHAPTERS=1, as its own call) full-mode times of the training, morphing and claims chapters
if [ -n "${CHAPTERS:-}" ]; then
  for nb in chapters/07_training_on_gpus.ipynb chapters/08_image_morphing.ipynb chapters/10_claims_tested.ipynb; do
    s0=$(date +%s)
    GRADNETOT_FAST=0 timeout -k 5 180 "$PY" -c "import sys, nbformat, nbclient; \
nb = nbformat.read(sys.argv[1], 4); nbclient.NotebookClient(nb, timeout=600).execute()" "$nb" >/dev/null 2>>"$ERR"
    echo "$nb rc=$? $(( $(date +%s) - s0 )) s" | tee -a "$OUT/chapters.txt"
  done
fi

echo "total $(( $(date +%s) - t_start ))s" | tee -a "$ERR"
exit 0
