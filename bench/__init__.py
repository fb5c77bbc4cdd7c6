"""exabench.bench: microbenchmarks (GEMM, memory, collectives), the timing harness that runs them
all, environment capture and NVML telemetry. Writes Run documents; knows nothing of planning."""
