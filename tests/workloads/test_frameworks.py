from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exabench.errors import UserError
from exabench.workloads.frameworks import (
    KNOBS,
    PER_LAYER,
    Framework,
    framework_names,
    load_framework,
    parse_framework,
)
from exabench.workloads.tomlfile import read_toml

SHIPPED = Path(__file__).resolve().parents[2] / "workloads" / "frameworks"


def _doc(name: str = "megatron") -> dict:
    return read_toml(SHIPPED / f"{name}.toml")


def _valid(name: str, value: object) -> bool:
    kind, allowed = KNOBS[name]
    if kind is float:
        return value in (allowed or ()) or (
            isinstance(value, float) and not isinstance(value, bool) and value > 0
        )
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind):
        return False
    return allowed is None or value in allowed


_counter = itertools.count()


def _with_knob_text(knob: str, text: str) -> str:
    """deepspeed.toml with the raw TOML text ``text`` as the value of ``knob`` in [knobs]."""
    lines, section = [], ""
    for line in (SHIPPED / "deepspeed.toml").read_text().splitlines():
        if line.startswith("["):
            section = line
        if section == "[knobs]" and line.startswith(f"{knob} = "):
            line = f"{knob} = {text}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def test_the_three_presets_ship() -> None:
    assert {"megatron", "fsdp", "deepspeed"} <= set(framework_names())


@pytest.mark.parametrize("name", framework_names())
def test_each_shipped_preset_loads_with_a_source_per_knob(name: str) -> None:
    framework = load_framework(name)
    assert isinstance(framework, Framework)
    assert framework.name == name and framework.description and framework.source
    assert list(framework.knobs) == list(KNOBS)
    assert set(framework.sources) == set(KNOBS)
    for knob, value in framework.knobs.items():
        assert _valid(knob, value), (knob, value)
        assert "@" in framework.sources[knob] or "https://" in framework.sources[knob], knob


def test_the_presets_differ_where_the_frameworks_do() -> None:
    megatron, fsdp, deepspeed = (load_framework(n) for n in ("megatron", "fsdp", "deepspeed"))
    assert (megatron.knobs["zero"], fsdp.knobs["zero"], deepspeed.knobs["zero"]) == (1, 3, 2)
    assert fsdp.knobs["dp_bucket_mb"] == PER_LAYER
    assert megatron.knobs["grad_reduce_bytes"] == 4 and deepspeed.knobs["grad_reduce_bytes"] == 2


def test_a_preset_loads_by_path(tmp_path: Path) -> None:
    text = (SHIPPED / "fsdp.toml").read_text()
    path = tmp_path / "mine.toml"
    path.write_text(text.replace('name = "fsdp"', 'name = "mine"'))
    assert load_framework(str(path)).name == "mine"


def _error(doc: dict, match: str) -> None:
    with pytest.raises(UserError, match=match) as info:
        parse_framework(doc, "x.toml")
    assert "\n" not in str(info.value)


def test_unknown_name_lists_the_shipped_presets() -> None:
    with pytest.raises(UserError, match="unknown frameworks 'megatorn'.*megatron"):
        load_framework("megatorn")


@pytest.mark.parametrize(
    "change, match",
    [
        ({"framework": "x"}, "unknown key: 'framework'"),
        ({"knobs": {**_doc()["knobs"], "overlap_tp": True}}, r"unknown key in \[knobs\]"),
        ({"sources": {**_doc()["sources"], "zero3": "x"}}, r"unknown key in \[sources\]"),
        ({"knobs": {k: v for k, v in _doc()["knobs"].items() if k != "zero"}}, "lacks 'zero'"),
        ({"sources": {k: v for k, v in _doc()["sources"].items() if k != "zero"}}, "lacks 'zero'"),
        ({"sources": {**_doc()["sources"], "zero": " "}}, "sources.zero"),
        ({"knobs": 3}, "knobs must be a table"),
        ({"name": 7}, "name = 7 must be a string"),
    ],
)
def test_bad_tables_are_one_line_user_errors(change: dict, match: str) -> None:
    _error({**_doc(), **change}, match)


@pytest.mark.parametrize(
    "knob, value, match",
    [
        ("overlap_dp", "yes", "knobs.overlap_dp = 'yes' is not valid; valid: true or false"),
        ("overlap_dp", 1, "knobs.overlap_dp = 1"),
        ("zero", 4, "knobs.zero = 4 is not valid; valid: 0, 1, 2, 3"),
        ("zero", True, "knobs.zero = True"),
        ("zero", 1.0, "knobs.zero = 1.0"),
        ("attention_kernel", "flash", "valid: fa2, fa3, cudnn, unfused"),
        ("recompute", "partial", "valid: none, selective, full"),
        ("grad_reduce_bytes", 8, "valid: 2, 4"),
        ("dp_bucket_mb", -1.0, "knobs.dp_bucket_mb = -1.0"),
        ("dp_bucket_mb", float("nan"), "knobs.dp_bucket_mb"),
        ("dp_bucket_mb", "block", "'layer'"),
        ("dp_bucket_mb", False, "knobs.dp_bucket_mb = False"),
    ],
)
def test_bad_knob_values_name_the_knob_and_what_is_valid(
    knob: str, value: object, match: str
) -> None:
    doc = _doc()
    _error({**doc, "knobs": {**doc["knobs"], knob: value}}, match)


def test_the_text_substitution_touches_only_the_knob() -> None:
    text = _with_knob_text("zero", "3")
    assert "zero = 3\n" in text and 'zero = """microsoft/DeepSpeed' in text


@pytest.mark.parametrize("text, value", [("true", True), ('"fa3"', "fa3"), ("1", 1)])
def test_valid_text_loads(tmp_path: Path, text: str, value: object) -> None:
    knob = {bool: "cuda_graphs", str: "attention_kernel", int: "zero"}[type(value)]
    path = tmp_path / "ok.toml"
    path.write_text(_with_knob_text(knob, text))
    assert load_framework(str(path)).knobs[knob] == value


def test_an_integer_bucket_is_read_as_megabytes() -> None:
    doc = _doc()
    framework = parse_framework({**doc, "knobs": {**doc["knobs"], "dp_bucket_mb": 40}}, "x.toml")
    assert framework.knobs["dp_bucket_mb"] == 40.0
    assert isinstance(framework.knobs["dp_bucket_mb"], float)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(knob=st.sampled_from(sorted(KNOBS)), text=st.text(max_size=40))
def test_arbitrary_text_for_a_knob_loads_or_is_one_user_error(
    tmp_path: Path, knob: str, text: str
) -> None:
    path = tmp_path / f"case{next(_counter)}.toml"
    path.write_text(_with_knob_text(knob, text), encoding="utf-8")
    try:
        framework = load_framework(str(path))
    except UserError as error:
        assert str(error) and "\n" not in str(error)
    else:
        assert _valid(knob, framework.knobs[knob])
