#!/usr/bin/env bash
# The device check, prepared as one call for a session that is lent an H100/H200 (15 minutes of
# device time in all): every GPU-only test, the quick suite, the targets of issues 2 and 3, and
# the Run documents to commit under workloads/measured/.
#
# From the repo root on the GPU machine (the device tool sets OUT; elsewhere it defaults):
#   bash benchmarks/gpu_check.sh            # ~6-8 minutes on one H100, 10 at most
#   MAMF_BUDGET_S=30 bash benchmarks/gpu_check.sh
# Then copy $OUT/run/*.json into workloads/measured/ (then `--hardware h100-sxm-measured`, or
# h200-sxm-measured, plans on them; `exabench catalog` lists them) and the figures into the README.
# Never changes clocks, power limits or modes.
set -uo pipefail
OUT=${OUT:-/tmp/exabench-gpu}
MAMF_BUDGET_S=${MAMF_BUDGET_S:-40}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT/run"
step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }

step install
python3 -m pip install -q --no-deps --no-build-isolation -e . || exit 1
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm,temperature.gpu --format=csv | tee "$OUT/nvidia-smi.csv"
# The card's own account of its clocks, power and throttle state, before and after (read only).
nvidia-smi -q -d PERFORMANCE,POWER,CLOCK > "$OUT/nvidia-smi-before.txt" 2>&1
exabench env --json > "$OUT/env.json"
exabench env

# Most valuable first: the quick suite's Run is what workloads/measured/ needs. Each step has
# its own time limit, so one hang can't eat the others' device time.
step "quick suite: GEMM, memory, collectives (world size = local GPUs)"
timeout 180 exabench bench all --quick --out "$OUT/run" 2>&1 | tee "$OUT/bench-all.log"

step "GPU tests (pytest -m gpu)"
# Report tests need altair/vl-convert, which a GPU image may lack: keep collecting past them.
timeout 120 python3 -m pytest -q -m gpu -p no:cacheprovider --continue-on-collection-errors tests 2>&1 | tail -25 | tee "$OUT/pytest-gpu.log"

step "GEMM sweep and MAMF (issue 2 targets)"
timeout 120 exabench bench gemm --dtype fp64,fp32,tf32,bf16,fp16,fp8,int8 --sizes 1024,4096,8192 --prewarm-s 10 --out "$OUT/run" 2>&1 | tee "$OUT/gemm.log"
timeout $((MAMF_BUDGET_S + 105)) python3 benchmarks/gemm_figures.py --mamf-budget-s "$MAMF_BUDGET_S" 2>&1 | tee "$OUT/gemm-figures.log"

step "memory, host links, telemetry overhead (issue 3 targets)"
timeout 90 exabench bench memory --out "$OUT/run" 2>&1 | tail -40 | tee "$OUT/memory.log"
timeout 60 python3 benchmarks/memory_figures.py 2>&1 | tee "$OUT/memory-figures.log"

step done
nvidia-smi -q -d PERFORMANCE,POWER,CLOCK > "$OUT/nvidia-smi-after.txt" 2>&1
ls -la "$OUT" "$OUT/run"
