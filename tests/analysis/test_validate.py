from __future__ import annotations

from exabench.analysis.planner.step import Context
from exabench.analysis.validate import validate
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference
from exabench.workloads.published import load_published


def test_planner_meets_the_accuracy_targets_on_the_published_runs() -> None:
    pairs = [
        (r, Context(load_model(r.model), load_reference(r.hardware), load_cluster(r.cluster)))
        for r in load_published()
    ]
    report = validate(pairs)
    assert len(report["rows"]) == 22
    for row in report["rows"]:
        assert row["error"] == (row["predicted"] - row["published"]) / row["published"]
    # Issue targets: median |error| <= 10 %, max <= 25 %.
    assert report["median_abs_error"] <= 0.10
    assert report["max_abs_error"] <= 0.25
