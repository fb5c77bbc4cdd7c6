"""Hardware profiles as data: the reference profiles that ship, and the shipped measured Runs."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exabench.documents.run import SCHEMA
from exabench.errors import UserError
from exabench.workloads import profile
from exabench.workloads.profile import (
    load_reference,
    parse_profile,
    run_device_name,
    shipped_measured,
)
from exabench.workloads.tomlfile import DATA_DIR, read_toml


def test_reference_profiles_are_published_with_sources() -> None:
    for name in ("h100-sxm", "h200-sxm", "a100-sxm", "h100-pcie"):
        p = load_reference(name)
        assert all(v["kind"] == "published" and v["source"] for v in p.provenance.values())
        assert 0 < p.gemm_efficiency("bf16", 1e12) < 1 and p.nvlink_busbw("all_reduce", 1e9) > 0
    h100 = load_reference("h100-sxm")
    # Plateau: 0.85 x the MAMF fraction 794.5/989 (ml-engineering compute/accelerator/README.md)
    assert h100.gemm_efficiency("bf16", 1e15) == pytest.approx(0.85 * 0.803, abs=1e-3)
    assert h100.gemm_efficiency("bf16", 1e8) < h100.gemm_efficiency("bf16", 1e11)
    assert h100.nvlink_busbw("all_reduce", 8589.9e6) == pytest.approx(478.9e9)


def test_shipped_measured_lists_gpu_runs_newest_first(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(profile, "MEASURED_DIR", tmp_path)
    for run_id, created, device in (("old", "2026-01-01T00:00:00Z", "NVIDIA H100 80GB HBM3"),
                                    ("new", "2026-06-01T00:00:00Z", "NVIDIA H100 80GB HBM3"),
                                    ("cpu", "2026-07-01T00:00:00Z", None)):
        devices = [{"name": device}] if device else []
        (tmp_path / f"{run_id}.json").write_text(json.dumps({
            "schema": SCHEMA, "id": run_id, "created": created, "config": {}, "results": [],
            "environment": {"gpu": {"devices": devices}}}))
    listed = shipped_measured()
    assert [(name, run["id"]) for name, run in listed] == [("h100-sxm", "new"), ("h100-sxm", "old")]
    assert run_device_name(listed[0][1]) == "NVIDIA H100 80GB HBM3"
    assert run_device_name({"environment": {}}) is None


# --- optional [compute] and [attention_kernels] tables ------------------------------------------

H100_TOML = DATA_DIR / "hardware" / "h100-sxm.toml"


def _doc(**tables: object) -> dict:
    """The shipped H100 profile with tables replaced (None: removed)."""
    doc = read_toml(H100_TOML)
    for key, value in tables.items():
        if value is None:
            doc.pop(key, None)
        else:
            doc[key] = value
    return doc


def test_sms_and_attention_kernels_of_the_shipped_profiles() -> None:
    h100 = load_reference("h100-sxm")
    assert h100.sms == 132  # H100 SXM5 (the whitepaper's count)
    assert {"fa2_fwd", "fa2_bwd", "fa3_fwd", "fa3_bwd", "cudnn_fwd", "cudnn_bwd"} <= set(
        h100.attention_kernels)
    assert h100.provenance["compute"]["source"] and h100.provenance["attention_kernels"]["source"]
    assert load_reference("a100-sxm").sms == 108


def test_the_tables_are_optional() -> None:
    bare = parse_profile(_doc(compute=None, attention_kernels=None), H100_TOML)
    assert bare.sms == 0 and bare.attention_kernels == {}
    assert "compute" not in bare.provenance and "attention_kernels" not in bare.provenance


def test_a_kernel_curve_is_read_by_sequence_length() -> None:
    table = {"source": "test", "seq": [1024, 4096], "fa3_fwd": [400, 600], "fa3_bwd": [300, 500]}
    profile = parse_profile(_doc(attention_kernels=table), H100_TOML)
    assert set(profile.attention_kernels) == {"fa3_fwd", "fa3_bwd"}
    # half-way in log size between 1,024 and 4,096 is 2,048
    assert profile.attention_kernels["fa3_fwd"](2048) == pytest.approx(500)
    assert profile.provenance["attention_kernels"] == {"kind": "published", "source": "test"}


@pytest.mark.parametrize("tables, message", [
    ({"compute": 132}, "[compute] must be a table"),
    ({"compute": {"sms": -1}}, "compute.sms = -1 is not valid"),
    ({"compute": {"sms": "many"}}, "compute.sms = 'many' is not valid"),
    ({"compute": {"sms": True}}, "compute.sms = True is not valid"),
    ({"attention_kernels": [1, 2]}, "[attention_kernels] must be a table"),
    ({"attention_kernels": {"fa3_fwd": [1.0, 2.0]}}, "missing 'seq'"),
    ({"attention_kernels": {"seq": [1, 2], "fa3_fwd": [1.0]}}, "as many values as sizes"),
    ({"attention_kernels": {"seq": [2, 1], "fa3_fwd": [1.0, 2.0]}}, "increasing"),
    ({"attention_kernels": {"seq": [1, 2], "fa3_fwd": [0.0, 2.0]}}, "positive and finite"),
    ({"attention_kernels": {"seq": [1, 2], "fa3_fwd": ["a", 2.0]}}, "[attention_kernels]"),
])
def test_bad_optional_tables_are_one_line_errors(tables: dict, message: str) -> None:
    with pytest.raises(UserError) as info:
        parse_profile(_doc(**tables), H100_TOML)
    assert message in str(info.value) and "\n" not in str(info.value)


NUMBERS = st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=True), st.text(max_size=4),
                    st.booleans())


@settings(max_examples=60, deadline=None, derandomize=True)
@given(sms=NUMBERS, seq=st.lists(NUMBERS, max_size=4), fwd=st.lists(NUMBERS, max_size=4))
def test_any_optional_tables_load_or_fail_in_one_line(sms: object, seq: list, fwd: list) -> None:
    doc = _doc(compute={"sms": sms}, attention_kernels={"seq": seq, "cudnn_fwd": fwd})
    try:
        profile = parse_profile(doc, H100_TOML)
    except UserError as error:
        assert "\n" not in str(error)
    else:
        assert 0 <= profile.sms <= 10_000
        assert profile.attention_kernels["cudnn_fwd"].xs == tuple(float(x) for x in seq)
