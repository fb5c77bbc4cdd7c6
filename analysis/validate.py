"""The planner against published training runs: error of each row, leave-one-source-out, interval.

``error = (predicted - published) / published``. The planner gets exactly what the source
states (model, GPUs, layout, framework settings); what it doesn't state is chosen by the
search, as for any plan. Nothing is fitted per row: the profiles are the shipped ones.

**Fitted parameters.** ``FITTED`` declares the planner's parameters that are fitted on the
published runs (each with a grid of candidate values). A fit picks, by grid search, the
candidates that minimise the median of ``|log(predicted / published)|`` over the rows it is
given (ties: the first in grid order; with no rows, each parameter's first candidate).
``predicted`` and ``error`` use the fit on all rows.

**Leave-one-source-out (LOSO).** Each row belongs to a ``group``, its independent source (by
default its file). For each group g the parameters are refitted on the rows not in g and g's
rows are predicted with that fit: ``loso_error``. With ``FITTED`` empty there is nothing to
refit and the LOSO errors are the errors.

**Interval.** Residuals are taken in throughput terms, ``s = log(published / predicted)`` for a
throughput metric (TFLOP/s, MFU, tokens/s) and ``log(predicted / published)`` for step time
(throughput ~ 1 / step time), so that an optimistic planner has the same sign on every row.
A row of group g gets the 10th and 90th percentiles ``q10, q90`` (linear interpolation) of the
out-of-source residuals of the rows not in g, each from a fit that used neither g nor that
row's own group, and its P10-P90 is ``[loso * exp(q10), loso * exp(q90)]`` around its LOSO
prediction (``[loso / exp(q90), loso / exp(q10)]`` for step time): nothing of g is used.
``coverage`` is the share of rows whose published value lies inside. The global throughput
ratios ``exp(q10)``, ``exp(q90)`` over every row's LOSO residual are what plans use
(``workloads/accuracy.toml``, written by ``docs/calibrate.py``).
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from exabench.analysis.planner.flops import megatron_hardware_flops, padded_vocab
from exabench.analysis.planner.layout import LayoutRequest
from exabench.analysis.planner.plan import choose_layouts
from exabench.analysis.planner.step import Context
from exabench.workloads.published import PublishedRun

STEP_METRICS = frozenset({"step_time_s"})
"""Metrics where lower is faster (throughput ~ 1 / metric)."""


@dataclass(frozen=True)
class Fitted:
    """A planner parameter fitted on the published runs.

    ``apply(ctx, value)`` returns the Context with the parameter set to ``value``; it must
    return a new Context (``Context(model, profile, cluster)``, not ``dataclasses.replace``,
    which would share the memo caches of the original). The first candidate is the default.
    """

    name: str
    candidates: tuple[float, ...]
    apply: Callable[[Any, float], Any]
    source_note: str


FITTED: tuple[Fitted, ...] = ()
"""The planner's fitted parameters: none at present, so nothing is tuned on the published rows."""

Predictor = Callable[[Any, PublishedRun], float]


def predict(ctx: Context, run: PublishedRun) -> float:
    """The planner's value of ``run.metric`` for the run's stated settings."""
    [(lo, result)], _, _ = choose_layouts(ctx, run.gpus, LayoutRequest(**run.settings), top=1)
    if run.metric == "step_time_s":
        return float(result["step_time_s"])
    if run.metric == "model_tflops_per_gpu":
        return float(result["model_tflops_per_gpu"])
    if run.metric == "mfu":
        return float(result["mfu"])
    if run.metric == "tokens_per_s_per_gpu":
        return float(result["tokens_per_s_per_gpu"])
    assert run.metric == "hw_tflops_per_gpu", run.metric
    m = ctx.model
    flops = megatron_hardware_flops(
        lo.global_batch, lo.seq, m.layers, m.hidden, padded_vocab(m.vocab, lo.tp)
    )
    return flops / result["step_time_s"] / run.gpus / 1e12


def group_of(run: PublishedRun) -> str:
    """The run's independent source: its ``group``, else its ``source`` text."""
    return run.group or run.source


def throughput_residual(metric: str, published: float, predicted: float) -> float:
    """``log`` of published over predicted throughput (step time inverted)."""
    r = math.log(published / predicted)
    return -r if metric in STEP_METRICS else r


def quantile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) with linear interpolation between order statistics (numpy's
    default): position ``q * (n - 1)`` in the sorted values."""
    return float(np.quantile(np.asarray(values, dtype=float), q))


def _abs_log(published: float, predicted: float) -> float:
    if not (predicted > 0 and published > 0 and math.isfinite(predicted)):
        return math.inf
    return abs(math.log(predicted / published))


class _Grid:
    """Predictions of every row at every grid point of the fitted parameters, computed lazily
    and once each (a prediction may run a layout search)."""

    def __init__(self, pairs: Sequence[tuple[PublishedRun, Any]], fitted: Sequence[Fitted],
                 predictor: Predictor) -> None:
        self.pairs, self.fitted, self.predictor = pairs, fitted, predictor
        self.points = list(itertools.product(*(f.candidates for f in fitted)))
        if not self.points:
            raise ValueError("every fitted parameter needs at least one candidate")
        self._cache: dict[tuple[int, tuple[float, ...]], float] = {}
        self._fits: dict[frozenset[str], tuple[float, ...]] = {}

    def predicted(self, i: int, point: tuple[float, ...]) -> float:
        key = (i, point)
        if key not in self._cache:
            run, ctx = self.pairs[i]
            for parameter, value in zip(self.fitted, point, strict=True):
                ctx = parameter.apply(ctx, value)
            self._cache[key] = float(self.predictor(ctx, run))
        return self._cache[key]

    def fit(self, rows: Iterable[int]) -> tuple[float, ...]:
        rows = list(rows)
        if len(self.points) == 1 or not rows:
            return self.points[0]

        def loss(point: tuple[float, ...]) -> float:
            return statistics.median(
                _abs_log(self.pairs[i][0].published, self.predicted(i, point)) for i in rows
            )

        return min(self.points, key=loss)

    def fit_without(self, groups: frozenset[str]) -> tuple[float, ...]:
        """The fit on the rows whose group is not in ``groups`` (memoised)."""
        if groups not in self._fits:
            self._fits[groups] = self.fit(
                i for i, (run, _) in enumerate(self.pairs) if group_of(run) not in groups
            )
        return self._fits[groups]


def _summary(errors: list[float]) -> tuple[float | None, float | None]:
    if not errors:
        return None, None
    return statistics.median(abs(e) for e in errors), max(abs(e) for e in errors)


def _interval(metric: str, center: float, q10: float, q90: float) -> tuple[float, float]:
    if metric in STEP_METRICS:
        return center * math.exp(-q90), center * math.exp(-q10)
    return center * math.exp(q10), center * math.exp(q90)


def validate(
    pairs: Sequence[tuple[PublishedRun, Any]],
    *,
    fitted: Sequence[Fitted] = FITTED,
    predictor: Predictor = predict,
) -> dict[str, Any]:
    """Rows (error, LOSO error, P10-P90), summaries, per-source LOSO figures and the interval.

    ``pairs`` holds each published run with its planner Context; ``fitted`` and ``predictor``
    default to the planner's (tests pass their own, Context-free ones)."""
    grid = _Grid(pairs, fitted, predictor)
    runs = [run for run, _ in pairs]
    groups = [group_of(run) for run in runs]
    order = list(dict.fromkeys(groups))
    point_all = grid.fit_without(frozenset())
    point_without = {g: grid.fit_without(frozenset({g})) for g in order}
    loso_pred = [grid.predicted(i, point_without[g]) for i, g in enumerate(groups)]
    rows = [_row(run, g, grid.predicted(i, point_all), loso_pred[i])
            for i, (run, g) in enumerate(zip(runs, groups, strict=True))]
    inside, covered = _intervals(grid, runs, groups, rows, loso_pred)
    all_residuals = [throughput_residual(r.metric, r.published, p)
                     for r, p in zip(runs, loso_pred, strict=True)]
    median_err, max_err = _summary([r["error"] for r in rows])
    loso_median, loso_max = _summary([r["loso_error"] for r in rows])
    return {
        "rows": rows,
        "median_abs_error": median_err,
        "max_abs_error": max_err,
        "loso": {
            "median_abs_error": loso_median,
            "max_abs_error": loso_max,
            "sources": len(order),
            "by_source": [_source_summary(rows, g) for g in order],
            "fitted": [
                {
                    "name": parameter.name,
                    "value_all": point_all[k],
                    "values_by_held_out_source": {g: point_without[g][k] for g in order},
                    "source": parameter.source_note,
                }
                for k, parameter in enumerate(fitted)
            ],
        },
        "interval": _interval_section(all_residuals, inside, covered),
    }


def _row(run: PublishedRun, group: str, predicted: float, loso: float) -> dict[str, Any]:
    return {
        "id": run.id,
        "source": run.source,
        "group": group,
        "metric": run.metric,
        "published": run.published,
        "predicted": predicted,
        "error": (predicted - run.published) / run.published,
        "loso_error": (loso - run.published) / run.published,
    }


def _intervals(grid: _Grid, runs: list[PublishedRun], groups: list[str],
               rows: list[dict[str, Any]], loso_pred: list[float]) -> tuple[int, int]:
    """Give each row its P10-P90 from the out-of-source residuals, and count the rows whose
    published value falls inside: for a row of group g, each other row j (group h) predicted
    by the fit on the rows in neither g nor h."""
    inside = covered = 0
    for i, (run, g) in enumerate(zip(runs, groups, strict=True)):
        residuals = [
            throughput_residual(
                runs[j].metric, runs[j].published,
                grid.predicted(j, grid.fit_without(frozenset({g, h}))),
            )
            for j, h in enumerate(groups)
            if h != g
        ]
        row = rows[i]
        if not residuals:
            row.update(p10=None, p90=None, inside=None)
            continue
        p10, p90 = _interval(run.metric, loso_pred[i], quantile(residuals, 0.1),
                             quantile(residuals, 0.9))
        row.update(p10=p10, p90=p90, inside=p10 <= run.published <= p90)
        covered += 1
        inside += row["inside"]
    return inside, covered


def _source_summary(rows: list[dict[str, Any]], group: str) -> dict[str, Any]:
    errors = [r["loso_error"] for r in rows if r["group"] == group]
    med, worst = _summary(errors)
    return {"source": group, "rows": len(errors), "median_abs_error": med,
            "max_abs_error": worst, "bias": statistics.median(errors)}


def _interval_section(residuals: list[float], inside: int, covered: int) -> dict[str, Any]:
    def ratio(q: float) -> float | None:
        return math.exp(quantile(residuals, q)) if residuals else None

    return {
        "p10_ratio": ratio(0.1),
        "p50_ratio": ratio(0.5),
        "p90_ratio": ratio(0.9),
        "coverage": inside / covered if covered else None,
        "inside": inside,
        "rows": covered,
        "method": (
            "throughput ratio published/predicted (step time inverted); P10-P90 of each"
            " row from the leave-one-source-out residuals of the other sources"
        ),
    }
