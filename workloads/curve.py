"""Efficiency curves: a value as a function of a size, interpolated linearly in log(size).

Efficiency is data, never a constant buried in code (calculon / llm-analysis style): GEMM
efficiency by GFLOP per call, HBM efficiency by megabytes moved, NVLink bus bandwidth by
message size. Outside the measured range the end values hold (no extrapolation).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

from exabench.errors import UserError


@dataclass(kw_only=True, frozen=True)
class Curve:
    xs: tuple[float, ...]
    """Sizes, strictly increasing, positive."""
    ys: tuple[float, ...]
    """Values at those sizes."""

    def __post_init__(self) -> None:
        if not self.xs or len(self.xs) != len(self.ys):
            raise UserError(
                f"a curve needs as many values as sizes (got {len(self.xs)} sizes, {len(self.ys)}"
                " values)"
            )
        if any(not 0 < x < math.inf for x in self.xs) or any(
            b <= a for a, b in zip(self.xs, self.xs[1:], strict=False)
        ):
            raise UserError(
                f"curve sizes must be positive, finite and increasing, got {list(self.xs)}"
            )
        if any(not 0 < y < math.inf for y in self.ys):
            raise UserError(f"curve values must be positive and finite, got {list(self.ys)}")
        object.__setattr__(self, "_logs", tuple(math.log(x) for x in self.xs))

    def __call__(self, x: float) -> float:
        if x <= self.xs[0]:
            return self.ys[0]
        if x >= self.xs[-1]:
            return self.ys[-1]
        logs: tuple[float, ...] = self._logs  # type: ignore[attr-defined]
        lx = math.log(x)
        i = bisect.bisect_right(logs, lx)
        frac = (lx - logs[i - 1]) / (logs[i] - logs[i - 1])
        return self.ys[i - 1] + frac * (self.ys[i] - self.ys[i - 1])

    @property
    def plateau(self) -> float:
        return self.ys[-1]

    def scaled(self, factor: float) -> Curve:
        return Curve(xs=self.xs, ys=tuple(y * factor for y in self.ys))

    @classmethod
    def from_points(cls, points: list[tuple[float, float]]) -> Curve:
        """From measured (size, value) pairs: sorted, duplicates of a size averaged."""
        by_x: dict[float, list[float]] = {}
        for x, y in points:
            by_x.setdefault(float(x), []).append(float(y))
        xs = sorted(by_x)
        return cls(xs=tuple(xs), ys=tuple(sum(by_x[x]) / len(by_x[x]) for x in xs))
