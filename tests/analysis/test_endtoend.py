from __future__ import annotations

import pytest

from exabench.analysis.endtoend import check_run
from exabench.analysis.planner.step import Context
from exabench.workloads.clusters import load_cluster
from exabench.workloads.endtoend import load_endtoend
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference

RUNS = {r.id: r for r in load_endtoend()}


def test_shipped_runs_have_sources() -> None:
    assert {"llama3-405b-pretrain", "deepseek-v3-pretrain"} <= set(RUNS)
    assert all(r.source and 0 < r.tolerance < 1 for r in RUNS.values())


@pytest.mark.parametrize("run_id", sorted(RUNS))
def test_plan_tokens_gpu_hours_against_published(run_id: str) -> None:
    run = RUNS[run_id]
    cluster = load_cluster(run.cluster)
    row = check_run(Context(load_model(run.model), load_reference(cluster.gpu), cluster), run)
    assert row["within"], row


def test_deepseek_cost_arithmetic() -> None:
    from exabench.analysis.atscale.cost import run_cost

    assert run_cost(2.788e6, 2.0) == pytest.approx(5.576e6)
    assert run_cost(2.664e6, 2.0) == pytest.approx(5.328e6)
