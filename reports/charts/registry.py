"""Which charts a report draws, and in what order: each builder in :mod:`exabench.reports.charts`
is called on the tidy frames of the inputs; a chart whose data is absent is left out."""

from __future__ import annotations

from collections.abc import Callable

from exabench.reports.charts import bench as charts_bench
from exabench.reports.charts import fleet as charts_fleet
from exabench.reports.charts import plan as charts_plan
from exabench.reports.charts import telemetry as charts_telemetry
from exabench.reports.charts.style import Figure
from exabench.reports.inputs.documents import Inputs
from exabench.reports.tidy import fleet as tf
from exabench.reports.tidy import plans as tp
from exabench.reports.tidy import runs as tr


def build_figures(inputs: Inputs) -> list[Figure]:
    """Every chart the inputs have data for, in reading order: plans first (what a planner
    came for), then the measurements behind them, then comparisons."""
    builders: list[Callable[[], Figure | None]] = []
    if inputs.comparisons:
        comparison = tp.comparison_frame(inputs.comparisons)
        builders.append(lambda: charts_plan.comparison(comparison))
    if inputs.plans:
        plans = tp.plans_frame(inputs.plans)
        uncertainty = tp.uncertainty_frame(inputs.plans)
        builders += [
            lambda: charts_plan.scaling(plans),
            lambda: charts_plan.time_and_cost(plans, uncertainty),
            lambda: charts_plan.breakdown(tp.breakdown_frame(inputs.plans)),
            lambda: charts_plan.uncertainty(uncertainty),
            lambda: charts_plan.sensitivity(tp.sensitivity_frame(inputs.plans)),
        ]
    if inputs.runs:
        gemm, memory = tr.gemm_frame(inputs.runs), tr.memory_frame(inputs.runs)
        builders += [
            lambda: charts_bench.gemm(gemm),
            lambda: charts_bench.roofline(gemm, memory),
            lambda: charts_bench.memory(memory),
            lambda: charts_bench.collectives(tr.collectives_frame(inputs.runs)),
            lambda: charts_telemetry.timeline(tr.timeline_frame(inputs.runs)),
        ]
    if inputs.fleets:
        builders.append(
            lambda: charts_fleet.relative(
                tf.gpu_frame(inputs.fleets), tf.summary_frame(inputs.fleets)
            )
        )
    figures = [fig for fig in (build() for build in builders) if fig is not None]
    assert len({f.id for f in figures}) == len(figures), "figure ids must be unique"
    return figures
