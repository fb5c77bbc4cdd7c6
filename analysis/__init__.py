"""exabench.analysis: pure computation. Profiles + workloads + clusters → Plans; Runs → regression
statistics. No I/O beyond what the CLI hands it, no torch, no GPU."""
