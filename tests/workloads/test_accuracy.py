from __future__ import annotations

import pytest

from exabench.errors import UserError
from exabench.workloads.accuracy import (
    ACCURACY_PATH,
    load_accuracy,
    parse_accuracy,
    render_accuracy,
)
from exabench.workloads.tomlfile import tomllib

GOOD = {
    "source": "generated",
    "rows": 5,
    "sources": 3,
    "throughput_ratio": {"p10": 0.8, "p50": 0.97, "p90": 1.05},
}


def test_shipped_file_loads_and_says_where_it_comes_from() -> None:
    acc = load_accuracy()
    assert 0 < acc.p10 <= acc.p50 <= acc.p90
    assert "nox -s calibrate" in acc.source and "leave-one-source-out" in acc.source
    assert f"{acc.rows} rows / {acc.sources} sources" in acc.source


def test_render_round_trips_and_is_deterministic() -> None:
    text = render_accuracy(0.81234, 0.9, 1.04567, rows=40, sources=6)
    assert text == render_accuracy(0.81234, 0.9, 1.04567, rows=40, sources=6)
    acc = parse_accuracy(tomllib.loads(text), "x")
    assert (acc.p10, acc.p50, acc.p90, acc.rows, acc.sources) == (0.812, 0.9, 1.046, 40, 6)
    assert "40 rows / 6 sources" in acc.source


@pytest.mark.parametrize(
    "change, message",
    [
        ({"extra": 1}, "unknown key 'extra'"),
        ({"rows": None}, "missing 'rows'"),
        ({"rows": 0}, "rows = 0"),
        ({"sources": "4"}, "sources = '4'"),
        ({"source": ""}, "source must be"),
        ({"throughput_ratio": {"p10": 0.8, "p90": 1.0}}, "exactly p10, p50, p90"),
        ({"throughput_ratio": {"p10": -1, "p50": 0.9, "p90": 1.0}}, "throughput_ratio.p10 = -1"),
        ({"throughput_ratio": {"p10": 1.1, "p50": 0.9, "p90": 1.0}}, "p10 <= p50 <= p90"),
        ({"throughput_ratio": 3}, "[throughput_ratio] has 3"),
    ],
)
def test_malformed_file_is_a_user_error(change: dict, message: str) -> None:
    doc = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(UserError) as error:
        parse_accuracy(doc, "acc.toml")
    assert message in str(error.value) and str(error.value).startswith("acc.toml: ")


def test_unreadable_file_is_a_user_error(tmp_path) -> None:
    path = tmp_path / "accuracy.toml"
    path.write_text("rows = [")
    with pytest.raises(UserError, match="not valid TOML"):
        load_accuracy(path)


@pytest.mark.slow
def test_shipped_file_matches_what_validate_computes_now() -> None:
    from exabench.commands.validate import calibrated_text

    assert ACCURACY_PATH.read_text() == calibrated_text(), (
        "workloads/accuracy.toml is out of date with the planner or workloads/published/:"
        " run `nox -s calibrate` and commit the file"
    )
