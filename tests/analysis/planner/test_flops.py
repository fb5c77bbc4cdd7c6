from __future__ import annotations

import pytest

from exabench.analysis.planner.flops import (
    hardware_flops_per_token,
    megatron_hardware_flops,
    megatron_model_flops,
    model_flops_per_token,
    padded_vocab,
)
from exabench.workloads.models import load_model


@pytest.mark.parametrize(
    "vocab, tp, padded",
    [(50257, 1, 50304), (50257, 8, 51200), (128256, 8, 129024), (32000, 3, 32256)],
)
def test_megatron_vocab_padding(vocab: int, tp: int, padded: int) -> None:
    assert padded_vocab(vocab, tp) == padded


@pytest.mark.parametrize("model, batch, gpus, seconds, mfu", [
    ("gpt3-175b", 64, 64, 13.75, 0.514),        # Korthikanti et al. 2022: 175B at 51.4 % MFU
    ("megatron-1008b", 512, 512, 71.49, 0.563),  # 1T at 56.3 %
])
def test_exact_flop_counting_on_the_published_mfu_rows(
    model: str, batch: int, gpus: int, seconds: float, mfu: float
) -> None:
    m = load_model(model)
    flops = model_flops_per_token(m, 2048, tp=8) * batch * 2048
    assert flops / (seconds * gpus * 312e12) == pytest.approx(mfu, abs=0.0006)


def test_palm_count_is_megatrons_72_factor_for_a_gpt() -> None:
    m = load_model("gpt3-175b")
    ours = model_flops_per_token(m, 2048, tp=8) * 64 * 2048
    assert ours == pytest.approx(megatron_model_flops(64, 2048, 96, 12288, 51200), rel=1e-12)


def test_full_recompute_hardware_flops_match_megatrons_96_factor() -> None:
    m = load_model("megatron-145.6b")
    ours = hardware_flops_per_token(m, 2048, "full", tp=8) * 2304 * 2048
    assert ours == pytest.approx(megatron_hardware_flops(2304, 2048, 80, 12288, 51200), rel=1e-12)


def test_recompute_ordering_and_gqa_moe() -> None:
    m = load_model("llama3-8b")
    none, sel, full = (hardware_flops_per_token(m, 8192, r) for r in ("none", "selective", "full"))
    assert none == model_flops_per_token(m, 8192) < sel < full
    mixtral = load_model("mixtral-8x7b")
    # top-2 of 8 experts: active FLOPs far below 6 x total params
    assert model_flops_per_token(mixtral, 4096) < 0.4 * 6 * 46.7e9
