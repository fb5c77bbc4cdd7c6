#!/usr/bin/env bash
# The device check, prepared as one call for a session that is lent an H100/H200 (15 minutes of
# device time in all): every GPU-only test, the quick suite, the targets of issues 2 and 3, and
# the Run documents to commit under workloads/measured/.
#
# From the repo root on the GPU machine (the device tool sets OUT; elsewhere it defaults):
#   bash benchmarks/gpu_check.sh            # ~6-8 minutes on one H100, 10 at most
#   MAMF_BUDGET_S=30 bash benchmarks/gpu_check.sh
# What comes back: the device tool returns at most 8 files from $OUT, so everything is written
# under a work folder and $OUT gets only the Run documents (copied after each step that makes
# one, so a run cut off later keeps them), plus gpu_check.tgz with every log at the end.
# Then copy the Runs into workloads/measured/ (then `--hardware h100-sxm-measured`, or
# h200-sxm-measured, plans on them; `exabench catalog` lists them) and the figures into the README.
# Never changes clocks, power limits or modes.
set -uo pipefail
OUT=${OUT:-/tmp/exabench-gpu}
MAMF_BUDGET_S=${MAMF_BUDGET_S:-40}
WORK=$(mktemp -d /tmp/exabench-gpu-work.XXXXXX)
export PYTHONUNBUFFERED=1
mkdir -p "$OUT" "$WORK/run"
step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }
# The Runs and any journal (a Run cut off part-way keeps its latest results there): 3 Runs, at
# most 3 journals and the archive stay within the 8 files.
keep_runs() { cp "$WORK"/run/*.json "$WORK"/run/*.json.journal "$OUT"/ 2>/dev/null; true; }
pack() { tar czf "$OUT/gpu_check.tgz" -C "$WORK" . 2>/dev/null; true; }
trap 'keep_runs; pack' EXIT

step install
python3 -m pip install -q --no-deps --no-build-isolation -e . || exit 1
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm,temperature.gpu --format=csv | tee "$WORK/nvidia-smi.csv"
# The card's own account of its clocks, power and throttle state, before and after (read only).
nvidia-smi -q -d PERFORMANCE,POWER,CLOCK > "$WORK/nvidia-smi-before.txt" 2>&1
exabench env --json > "$WORK/env.json"
exabench env

# Most valuable first: the quick suite's Run is what workloads/measured/ needs. Each step has
# its own time limit, so one hang can't eat the others' device time.
step "quick suite: GEMM, memory, collectives (world size = local GPUs)"
timeout 180 exabench bench all --quick --out "$WORK/run" 2>&1 | tee "$WORK/bench-all.log"
keep_runs

step "GPU tests (pytest -m gpu)"
# Report tests need altair/vl-convert, which a GPU image may lack: keep collecting past them.
timeout 120 python3 -m pytest -q -m gpu -p no:cacheprovider --continue-on-collection-errors tests > "$WORK/pytest-gpu.log" 2>&1
tail -25 "$WORK/pytest-gpu.log"

step "GEMM sweep and MAMF (issue 2 targets)"
timeout 120 exabench bench gemm --dtype fp64,fp32,tf32,bf16,fp16,fp8,int8 --sizes 1024,4096,8192 --prewarm-s 10 --out "$WORK/run" 2>&1 | tee "$WORK/gemm.log"
keep_runs
timeout $((MAMF_BUDGET_S + 105)) python3 benchmarks/gemm_figures.py --mamf-budget-s "$MAMF_BUDGET_S" 2>&1 | tee "$WORK/gemm-figures.log"

step "memory, host links, telemetry overhead (issue 3 targets)"
timeout 90 exabench bench memory --out "$WORK/run" > "$WORK/memory.log" 2>&1
tail -40 "$WORK/memory.log"
keep_runs
timeout 60 python3 benchmarks/memory_figures.py 2>&1 | tee "$WORK/memory-figures.log"

step done
nvidia-smi -q -d PERFORMANCE,POWER,CLOCK > "$WORK/nvidia-smi-after.txt" 2>&1
keep_runs
pack
ls -la "$OUT" "$WORK" "$WORK/run"
