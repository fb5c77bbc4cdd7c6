"""Report tables: headline numbers with units, assumptions with their kind, environments."""

from __future__ import annotations

from exabench.reports import fmt
from exabench.reports.inputs.documents import Document, Inputs
from exabench.reports.tables import sections as tables
from exabench.testing import samples


def _plan_docs():
    return [Document("plan", f"p{g}", samples.sample_plan(gpus=g)) for g in (8, 1024)]


def test_plans_table_units_and_convention_note():
    table = tables.plans_table(_plan_docs())
    row = dict(zip(table.columns, table.rows[1], strict=True))
    assert (
        row["MFU"].endswith("%")
        and row["time to train"].endswith("days")
        and row["cost"].startswith("$")
    )
    assert row["memory / GPU"] == "61.2 GiB fits" and row["layout"] == "TP8 PP4 CP1 EP1 DP32"
    assert "PaLM appendix B" in table.note


def test_assumptions_kinds_merged_across_plans():
    table = tables.assumptions_table(_plan_docs())
    kinds = {row[0]: (row[2], row[3], row[4]) for row in table.rows}
    assert kinds["gemm_efficiency"] == ("measured", "run sample-run", "all")
    assert kinds["mfu_curve"] == ("published", "NVIDIA datasheet", "all")
    assert kinds["pue"][0] == "assumed"
    assert [row[2] for row in table.rows] == sorted(
        (row[2] for row in table.rows), key=tables.KINDS.index
    )


def test_kind_inferred_from_source_when_not_declared():
    plan = samples.sample_plan(gpus=8)
    plan["inputs"]["assumptions"] = [
        {"name": "a", "value": 1, "source": "Run 2025-x"},
        {"name": "b", "value": 2, "source": "Llama 3 paper"},
        {"name": "c", "value": 3},
    ]
    plan["inputs"]["hardware"] = {"name": "h100-sxm", "run_id": "node17", "provenance": {
        "gemm_efficiency": {"kind": "measured", "source": "Run node17"}}}
    plan["cost"].update(kind="assumed", source="placeholder")
    kinds = {row[0]: row[2] for row in tables.assumptions_table([Document("plan", "p", plan)]).rows}
    assert kinds == {
        "a": "measured",
        "b": "published",
        "c": "assumed",
        "hardware profile": "measured",
        "hardware: gemm_efficiency": "measured",
        "cost model": "assumed",
    }


def test_best_runs_and_environment_tables():
    runs = [
        Document("run", "a", samples.sample_run(run_id="a")),
        Document("run", "b", samples.sample_run(run_id="b", seed=1)),
    ]
    best = tables.best_table(runs)
    assert {row[0] for row in best.rows} == {"GEMM", "memory", "collectives"}
    assert any(row[2].endswith("TFLOP/s") and row[3].endswith("%") for row in best.rows)
    env = tables.environment_table(runs)
    assert (
        len(env.rows) == 1
        and env.rows[0][1] == "2"
        and env.rows[0][3] == "8 × NVIDIA H100 80GB HBM3"
    )
    assert [row[0] for row in tables.runs_table(runs).rows] == ["a", "b"]


def test_headline_and_appendix_skip_what_is_absent():
    assert tables.headline_tables(Inputs()) == [] and tables.appendix_tables(Inputs()) == []
    cmp_ = Inputs(comparisons=[Document("comparison", "c.json", samples.sample_comparison(12))])
    (verdicts,) = tables.headline_tables(cmp_)
    assert (
        verdicts.rows[0][:2] == ["c.json", "regressed"]
        and sum(int(x) for x in verdicts.rows[0][2:]) == 12
    )


def test_a_hardware_provenance_that_is_not_an_object_is_left_out():
    """Found by the bad-input fuzz: ``inputs.hardware.provenance = -1`` crashed the report."""
    plan = samples.sample_plan(gpus=8)
    plan["inputs"]["hardware"] = {"name": "h100-sxm", "run_id": None, "provenance": -1}
    names = [row[0] for row in tables.assumptions_table([Document("plan", "p", plan)]).rows]
    assert "hardware profile" in names and not any(n.startswith("hardware: ") for n in names)


def test_a_fits_flag_that_is_not_a_boolean_is_left_blank():
    """Found by the bad-input fuzz: ``memory.fits = []`` (unhashable) crashed the report."""
    plan = samples.sample_plan(gpus=8)
    plan["memory"]["fits"] = []
    table = tables.plans_table([Document("plan", "p", plan)])
    cells = dict(zip(table.columns, table.rows[0], strict=True))
    assert cells["memory / GPU"].endswith("GiB") and "fit" not in cells["memory / GPU"].lower()


def test_memory_rows_are_the_largest_array_and_cupy_is_its_own_series():
    from exabench.documents.run import make_result

    gib, mib = 1 << 30, 4 << 20
    run = samples.sample_run(run_id="m", suites=())
    run["results"] = [
        make_result(
            suite="memory",
            name="copy",
            params={"kernel": "copy", "bytes": b, "backend": backend},
            samples=[1.0],
            metrics={"gbps": g, "pct_of_peak": 100 * g / 3350},
        )
        for b, backend, g in (
            (mib, "torch", 7000.0),
            (gib, "torch", 2900.0),
            (mib, "cupy", 7200.0),
            (gib, "cupy", 3050.0),
        )
    ] + [
        make_result(
            suite="memory",
            name="h2d",
            params={"kernel": "host_copy", "bytes": b, "direction": "h2d"},
            samples=[1.0],
            metrics={"gbps": g},
        )
        for b, g in ((mib, 30.0), (gib, 55.0))
    ]
    rows = {
        row[1].split(" · NVIDIA")[0]: row
        for row in tables.best_table([Document("run", "m", run)]).rows
    }
    assert rows["copy"][2] == "2,900 GB/s" and rows["copy"][4] == "1.00 GiB"
    assert rows["copy · cupy"][2] == "3,050 GB/s"
    assert rows["host_copy (h2d)"][2] == "55.0 GB/s"


def test_floors_table_lists_each_verdict_of_each_run():
    from exabench.bench.floors import check_floors, parse_floors

    run = samples.sample_run(run_id="accept")
    assert tables.floors_table([Document("run", "a", run)]) is None  # no --floor: no table
    run["floors"] = check_floors(
        run["results"], parse_floors(["gemm_bf16=1", "gemm_bf16=1e9", "gemm_fp4=1"])
    )
    table = tables.floors_table([Document("run", "a", run)])
    assert table.columns == [
        "Run",
        "result",
        "metric",
        "floor (given)",
        "best (measured)",
        "verdict",
    ]
    assert [row[5] for row in table.rows] == ["met", "MISSED", "not measured"]
    assert (
        table.rows[0][:4] == ["accept", "gemm_bf16", "tflops", "1.00"]
        and table.rows[2][4] == fmt.MISSING
    )
    assert table in tables.headline_tables(Inputs(runs=[Document("run", "a", run)]))
