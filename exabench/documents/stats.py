"""Summary statistics of raw timing samples.

Every benchmark keeps all its samples; this module only summarises them. Quartiles use linear
interpolation between order statistics (numpy's default, Hyndman & Fan type 7), the same as
pytest-benchmark's ``q1``/``q3`` and torch.utils.benchmark's IQR.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

STAT_FIELDS = ("n", "median", "q1", "q3", "min", "max", "mean", "cv")


def summarize(samples: Sequence[float]) -> dict[str, float | int | None]:
    """``n, median, q1, q3, min, max, mean, cv`` of ``samples``.

    ``cv`` is the coefficient of variation, sample standard deviation (ddof=1) over the mean;
    None when it is undefined (fewer than two samples or a zero mean). An empty input gives
    ``n = 0`` and None everywhere else, so a failed result still has a well-formed ``stats``.
    """
    values = np.asarray([s for s in samples if s is not None and math.isfinite(s)], dtype=float)
    if values.size == 0:
        return {"n": 0, **{field: None for field in STAT_FIELDS[1:]}}
    mean = float(values.mean())
    cv = None
    if values.size >= 2 and mean != 0.0:
        cv = float(values.std(ddof=1) / mean)
    q1, median, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
    return {
        "n": int(values.size),
        "median": median,
        "q1": q1,
        "q3": q3,
        "min": float(values.min()),
        "max": float(values.max()),
        "mean": mean,
        "cv": cv,
    }
