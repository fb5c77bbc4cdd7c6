"""The float64 reference check of STREAM kernel outputs."""

from __future__ import annotations

import pytest
import torch

from exabench.bench.memory.check import TOLERANCES, check_kernel, dot_reference


def arrays(n=4096, dtype=torch.float32):
    gen = torch.Generator().manual_seed(0)
    return {k: torch.rand(n, generator=gen, dtype=dtype) + 0.5 for k in "abc"}


def apply(kernel, x, s=0.4, v=0.7):
    out = torch.empty(())
    if kernel == "copy":
        x["c"].copy_(x["a"])
    elif kernel == "scale":
        torch.mul(x["c"], s, out=x["b"])
    elif kernel == "add":
        torch.add(x["a"], x["b"], out=x["c"])
    elif kernel == "triad":
        torch.add(x["b"], x["c"], alpha=s, out=x["a"])
    elif kernel == "dot":
        out = torch.dot(x["a"], x["b"])
    else:
        x["a"].fill_(v)
    return out


@pytest.mark.parametrize("kernel", ["copy", "scale", "add", "triad", "dot", "fill"])
def test_correct_results_pass_and_corrupted_ones_fail(kernel) -> None:
    x = arrays()
    out = apply(kernel, x)
    assert check_kernel(kernel, x, out, 0.4, 0.7, "fp32").ok
    if kernel == "dot":
        out = out * 1.01
    else:
        written = {"copy": "c", "scale": "b", "add": "c", "triad": "a", "fill": "a"}[kernel]
        x[written][100] *= 1.01
    bad = check_kernel(kernel, x, out, 0.4, 0.7, "fp32")
    assert not bad.ok and bad.rel_error == pytest.approx(0.01, rel=0.05)


def test_copy_and_fill_must_be_exact() -> None:
    assert TOLERANCES["fp32"]["copy"] == 0.0 and TOLERANCES["fp64"]["fill"] == 0.0


def test_sampled_check_on_a_larger_array() -> None:
    x = arrays(n=3 << 20)
    apply("triad", x)
    check = check_kernel("triad", x, None, 0.4, 0.7, "fp32", sample=1 << 16)
    assert check.ok and "65536 sampled" in check.detail


def test_dot_reference_in_chunks_matches_float64() -> None:
    x = arrays(n=(1 << 22) + 5, dtype=torch.float64)
    assert dot_reference(x["a"], x["b"]) == pytest.approx(
        torch.dot(x["a"], x["b"]).item(), rel=1e-12
    )
