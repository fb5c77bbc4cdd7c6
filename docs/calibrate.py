"""Write workloads/accuracy.toml from ``exabench validate``'s leave-one-source-out residuals.

The planner predicts every published run in workloads/published/ (analysis/validate.py); the
10th, 50th and 90th percentiles of published / predicted throughput, each row predicted without
its own source (step-time rows inverted), go to the file the Plan's uncertainty reads
(``RANGES["efficiency"]`` in analysis/atscale/uncertainty.py).

Usage: ``nox -s calibrate`` (or ``python docs/calibrate.py``); ``--check`` only says whether
the shipped file is current (exit 1 if not) and writes nothing.
"""

from __future__ import annotations

import sys

from exabench.commands.validate import calibrated_text
from exabench.workloads.accuracy import ACCURACY_PATH


def main(argv: list[str]) -> int:
    text = calibrated_text()
    current = ACCURACY_PATH.read_text() if ACCURACY_PATH.exists() else ""
    if "--check" in argv:
        if current != text:
            print(f"{ACCURACY_PATH} is out of date; run `nox -s calibrate`")
            return 1
        print(f"{ACCURACY_PATH} is current")
        return 0
    if current == text:
        print(f"{ACCURACY_PATH} unchanged")
        return 0
    tmp = ACCURACY_PATH.with_suffix(".toml.tmp")
    tmp.write_text(text)
    tmp.replace(ACCURACY_PATH)
    print(f"wrote {ACCURACY_PATH}:\n{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
