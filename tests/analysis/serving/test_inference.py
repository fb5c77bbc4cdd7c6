from __future__ import annotations

import pytest

from exabench.analysis.serving.inference import Serving, batch_table, capacity, default_tp
from exabench.errors import UserError
from exabench.workloads.models import load_model
from exabench.workloads.profile import load_reference

H100 = load_reference("h100-sxm")
L70 = load_model("llama3-70b")


def test_kv_cache_and_weights() -> None:
    s = Serving(model=L70, profile=H100, tp=4)
    assert (
        s.kv_bytes_per_token() == 2 * 80 * 8 * 128 * 2
    )  # K and V, 80 layers, 8 KV heads of 128, bf16
    assert s.weight_bytes == pytest.approx(70.6e9 * 2, rel=0.02)


def test_decode_is_hbm_bound_at_small_batch() -> None:
    s = Serving(model=L70, profile=H100, tp=2)
    step = s.decode_step_s(1, 1024)
    floor = s.weight_bytes / 2 / (H100.peaks.hbm_bandwidth_gbps * 1e9)
    assert floor < step < 1.3 * floor and s.bound(1, 1024) == "memory"
    rows = batch_table(s, 2048, 256)
    assert [r["batch"] for r in rows][:3] == [1, 2, 4]
    assert rows[-1]["decode_tokens_per_s_per_gpu"] > 5 * rows[0]["decode_tokens_per_s_per_gpu"]
    assert all(a["tpot_ms"] <= b["tpot_ms"] for a, b in zip(rows, rows[1:], strict=False))


def test_capacity_scales_with_rate() -> None:
    s = Serving(model=L70, profile=H100, tp=4)
    one = capacity(s, prompt=2048, output=256, rate=5, tpot_ms=50)
    ten = capacity(s, prompt=2048, output=256, rate=50, tpot_ms=50)
    assert one["tpot_ms"] <= 50 and ten["gpus"] >= 9 * one["gpus"] / 1.2
    with pytest.raises(UserError, match="tpot"):
        capacity(s, prompt=2048, output=256, rate=5, tpot_ms=1)


def test_default_tp_fits() -> None:
    assert default_tp(load_model("llama3-8b"), H100, 8, 4096, "bf16") == 1
    assert default_tp(load_model("llama3-405b"), H100, 8, 4096, "fp8") == 8
    with pytest.raises(UserError, match="does not fit"):
        default_tp(load_model("llama3-405b"), H100, 8, 4096, "bf16")
