"""``python -m exabench.bench.collectives`` was the rank entry point of earlier releases; a rank
is now started as ``python -m exabench bench collectives`` (the CLI), so this says so."""

import sys

print("error: start a collectives rank with 'python -m exabench bench collectives [options]' "
      "(for example under torchrun or srun)", file=sys.stderr)
sys.exit(2)
