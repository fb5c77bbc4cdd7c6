from __future__ import annotations

import pytest

from exabench.bench.device import Device
from exabench.bench.gemm.cases import PRECISIONS, GemmCase, gemm_flops, pct_of_peak, tflops
from exabench.bench.harness import TimingConfig, measure

CPU = Device("cpu")
FAST = TimingConfig(warmup_ms=1, rep_ms=5, min_samples=3, max_samples=10, flush="none")


def test_flop_count_is_two_mnk() -> None:
    assert gemm_flops(2, 3, 4) == 48
    assert gemm_flops(8192, 8192, 8192) == 2 * 8192**3


def test_tflops_and_pct_of_peak() -> None:
    # 8192^3 in 1.389 ms is 791.6 TFLOP/s: 80.0 % of the H100 SXM bf16 peak of 989.4.
    achieved = tflops(8192, 8192, 8192, 1.389e-3)
    assert achieved == pytest.approx(791.6, rel=1e-3)
    assert pct_of_peak(achieved, 989.4) == pytest.approx(80.0, rel=1e-3)
    assert pct_of_peak(achieved, None) is None


@pytest.mark.parametrize("dtype", ["fp64", "fp32", "bf16"])
def test_cpu_gemm_is_checked_then_timed(dtype: str) -> None:
    result = measure(GemmCase(64, 48, 32, dtype), CPU, FAST)
    assert result["status"] == "ok", result["error"]
    assert result["check"]["ok"] and result["check"]["rel_error"] <= PRECISIONS[dtype].tolerance
    assert result["stats"]["n"] == len(result["samples"]) >= 3
    assert result["metrics"]["tflops"] > 0
    assert result["metrics"]["pct_of_peak"] is None  # a CPU has no datasheet profile
    assert result["params"] == {"m": 64, "n": 48, "k": 32, "dtype": dtype, "backend": "torch"}


def test_a_wrong_result_is_failed_and_never_timed(monkeypatch: pytest.MonkeyPatch) -> None:
    case = GemmCase(32, 32, 32, "fp32")
    original = case.call

    def corrupt(slot: int) -> None:
        original(slot)
        case._c.add_(1.0)  # a kernel that returns garbage

    monkeypatch.setattr(case, "call", corrupt)
    result = measure(case, CPU, FAST)
    assert result["status"] == "failed"
    assert result["error"].startswith("wrong result")
    assert result["samples"] == []


@pytest.mark.parametrize("dtype", ["tf32", "fp8", "int8"])
def test_tensor_core_only_precisions_skip_on_cpu(dtype: str) -> None:
    result = measure(GemmCase(64, 64, 64, dtype), CPU, FAST)
    assert result["status"] == "skipped"
    assert "GPU" in result["error"]


@pytest.mark.parametrize("dtype", ["fp8", "int8"])
def test_fp8_and_int8_code_paths_run_on_torchs_cpu_kernels(
    dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch has CPU kernels for ``_scaled_mm`` and ``_int_mm``: with the GPU-only skip lifted,
    the tensor-core path (quantised inputs, column-major B, per-slot scales, ``out=``, the
    float64 check) runs end to end here, two input slots rotated."""
    import torch

    case = GemmCase(48, 32, 64, dtype)
    monkeypatch.setattr(case, "skip_reason", lambda device: None)
    calls = {"n": 0}
    for name in ("_scaled_mm", "_int_mm"):
        real = getattr(torch, name)

        def counting(*args, _real=real, **kwargs):
            calls["n"] += 1
            assert kwargs.get("out") is not None  # writes into the preallocated output
            return _real(*args, **kwargs)

        monkeypatch.setattr(torch, name, counting)
    config = TimingConfig(warmup_ms=1, rep_ms=5, min_samples=3, max_samples=10, flush="rotate")
    monkeypatch.setattr(Device, "cache_bytes", lambda self: 48 * 64)  # two slots rotate
    result = measure(case, CPU, config)
    assert result["status"] == "ok", result["error"]
    assert result["timing"]["slots"] == 2 and calls["n"] >= 3
    assert result["check"]["rel_error"] <= PRECISIONS[dtype].tolerance
    if dtype == "int8":
        assert result["check"]["rel_error"] == 0.0  # int32 accumulation is exact


def test_fp8_scales_belong_to_their_own_input_slot() -> None:
    """Each fp8 input slot is quantised with its own amax, so every slot's product is the
    dequantised product of its own random matrices."""
    import torch

    case = GemmCase(32, 16, 32, "fp8")
    case.setup(CPU, 3)
    try:
        assert len(case._scales) == 3 and len({float(sa) for sa, _ in case._scales}) == 3
        for slot in range(3):
            case.call(slot)
            sa, sb = case._scales[slot]
            expected = (case._a[slot].float() * sa) @ (case._b[slot].float() * sb)
            assert torch.allclose(
                case._c.float(), expected, rtol=2e-2, atol=2e-2 * expected.abs().max().item()
            )
    finally:
        case.teardown()


def test_cupy_backend_skips_on_cpu() -> None:
    result = measure(GemmCase(64, 64, 64, "fp32", backend="cupy"), CPU, FAST)
    assert result["status"] == "skipped" and "cupy" in result["error"]


def test_shape_beyond_memory_is_failed_not_fatal() -> None:
    result = measure(GemmCase(10**6, 10**6, 10**6, "fp32"), CPU, FAST)
    assert result["status"] == "failed"
    assert result["error"].startswith("out of memory")


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8"])
def test_gpu_every_precision_passes_its_check(dtype: str) -> None:
    result = measure(GemmCase(1024, 1024, 1024, dtype), Device("cuda"), FAST)
    assert result["status"] in ("ok", "skipped"), result["error"]
    if result["status"] == "ok":
        assert result["metrics"]["tflops"] > 0


@pytest.mark.gpu
def test_gpu_cuda_graph_mode() -> None:
    config = TimingConfig(
        warmup_ms=5, rep_ms=20, min_samples=3, max_samples=20, cuda_graph=True, graph_calls=5
    )
    result = measure(GemmCase(256, 256, 256, "bf16"), Device("cuda"), config)
    assert result["status"] == "ok", result["error"]
    assert result["timing"]["calls_per_sample"] == 5


def test_fp8_check_helpers_select_and_upcast_exactly() -> None:
    """The fp8 correctness check reads sampled rows through a uint8 view and upcasts through
    float32; both must give exactly the quantised values (checked on CPU fp8 tensors)."""
    import torch

    from exabench.bench.gemm.cases import _select_rows, _upcast

    a = torch.randn(32, 16).to(torch.float8_e4m3fn)
    rows = torch.tensor([3, 1, 7])
    assert torch.equal(_upcast(_select_rows(a, rows)), a.to(torch.float32)[rows].double())
    b = torch.randn(16, 8).to(torch.float8_e4m3fn).t()  # column-major, as _scaled_mm takes it
    assert torch.equal(_upcast(b), b.to(torch.float32).double())
    x = torch.randn(4, 4, dtype=torch.bfloat16)
    assert torch.equal(_upcast(_select_rows(x, torch.tensor([2]))), x[2:3].double())


class _Hopper(Device):
    """A CUDA device record that answers compute capability 9.0 without a GPU."""

    def compute_capability(self):
        return (9, 0)


@pytest.mark.parametrize(("shape", "precision", "reason"), [
    ((1, 4096, 4096), "fp8", None),  # a decode GEMM: m is free for _scaled_mm
    ((8, 14336, 4096), "fp8", None),
    ((16, 4104, 4096), "fp8", "fp8 (torch._scaled_mm) needs n and k multiples of 16"),
    ((16, 4096, 4104), "fp8", "fp8 (torch._scaled_mm) needs n and k multiples of 16"),
    ((16, 4096, 4096), "int8", "int8 (torch._int_mm) needs m > 16 and n, k multiples of 8"),
    ((32, 4096, 4096), "int8", None),
])
def test_what_hopper_skips_follows_torchs_own_checks(shape, precision, reason) -> None:
    assert GemmCase(*shape, precision).skip_reason(_Hopper("cuda", 0)) == reason


def test_fp8_is_skipped_below_ada() -> None:
    class Ampere(Device):
        def compute_capability(self):
            return (8, 0)

    assert (
        GemmCase(64, 64, 64, "fp8").skip_reason(Ampere("cuda", 0))
        == "fp8 needs compute capability >= 8.9; this GPU is 8.0"
    )
