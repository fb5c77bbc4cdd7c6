"""Tensor-core GEMM throughput: ``C[m, n] = A[m, k] @ B[k, n]`` in every precision.

Work per call is ``2·m·n·k`` FLOPs (one multiply and one add per inner-product term); TFLOP/s
is that over the median time, and ``pct_of_peak`` is TFLOP/s as a percentage of the dense
datasheet peak of the GPU for that precision (``workloads/hardware/*.toml``; None for a GPU
that ships no profile, and for CPUs).

Backends: ``torch`` (cuBLAS/cuBLASLt on GPU, the CPU BLAS otherwise) and ``cupy`` (cuBLAS).
fp8 is e4m3 through ``torch._scaled_mm`` with per-tensor scales (amax / 448, Transformer
Engine's delayed-scaling recipe reduced to one tensor), bf16 output; int8 is ``torch._int_mm``
with int32 accumulation. The correctness check multiplies a random sample of rows of the
*quantised* inputs in float64 and compares (relative Frobenius error) against the tolerance of
the precision, so the check measures the kernel, not the input rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exabench.bench.device import Device
from exabench.bench.harness import Check
from exabench.workloads.hardware import match_device

BACKENDS = ("torch", "cupy")
CHECK_ROWS = 64
FP8_MAX = 448.0  # largest finite float8_e4m3fn


@dataclass(frozen=True)
class Precision:
    name: str
    torch_dtype: str
    """Attribute of ``torch`` holding the input dtype."""
    tolerance: float
    """Largest relative Frobenius error accepted against the float64 reference."""
    min_capability: tuple[int, int]
    """Lowest CUDA compute capability whose tensor cores (or cuBLAS) run it."""
    on_cpu: bool
    """Whether the CPU runs it at a useful speed (bf16/fp16 do run, ~1000x slower than fp32)."""
    bytes_per_element: int


# Tolerances: fp64 and strict fp32 accumulate in their own precision (u = 1.1e-16 and 6e-8);
# TF32 rounds inputs to a 10-bit mantissa (u = 4.9e-4, 9.8e-4 if truncated); bf16/fp16 round the
# output to 8/11 bits; fp8 e4m3 keeps 3 mantissa bits but the check uses the quantised inputs, so
# only the bf16 output rounding and accumulation order remain; int8 accumulates exactly in int32.
PRECISIONS: dict[str, Precision] = {
    "fp64": Precision("fp64", "float64", 1e-9, (6, 0), True, 8),
    "fp32": Precision("fp32", "float32", 1e-5, (6, 0), True, 4),
    "tf32": Precision("tf32", "float32", 5e-3, (8, 0), False, 4),
    "bf16": Precision("bf16", "bfloat16", 1e-2, (8, 0), True, 2),
    "fp16": Precision("fp16", "float16", 1e-2, (7, 0), True, 2),
    "fp8": Precision("fp8", "float8_e4m3fn", 5e-2, (8, 9), False, 1),
    "int8": Precision("int8", "int8", 0.0, (8, 0), False, 1),
}
GPU_DEFAULT = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8")
CPU_DEFAULT = ("fp64", "fp32")
CUPY_PRECISIONS = ("fp64", "fp32", "fp16")


def gemm_flops(m: int, n: int, k: int) -> int:
    """``2·m·n·k``: each of the m·n outputs is a k-term inner product (k multiplies, k adds)."""
    return 2 * m * n * k


def tflops(m: int, n: int, k: int, seconds: float) -> float:
    return gemm_flops(m, n, k) / seconds / 1e12


def pct_of_peak(achieved_tflops: float, peak_tflops: float | None) -> float | None:
    """Achieved throughput as a percentage of the dense datasheet peak; None when unknown."""
    if not peak_tflops:
        return None
    return 100.0 * achieved_tflops / peak_tflops


def peak_for(device: Device, precision: str) -> tuple[float | None, str | None]:
    """The dense peak of this device for ``precision`` and the profile it came from."""
    if not device.is_cuda:
        return None, None
    profile = match_device(device.name())
    return (profile.peak(precision), profile.name) if profile else (None, None)


def _is_fp8(tensor: Any) -> bool:
    return "float8" in str(tensor.dtype)


def _select_rows(tensor: Any, rows: Any) -> Any:
    """``index_select`` over rows; float8 tensors go through a uint8 view of the same bytes,
    since not every torch build implements indexing kernels for float8 dtypes."""
    if _is_fp8(tensor):
        return tensor.view(__import__("torch").uint8).index_select(0, rows).view(tensor.dtype)
    return tensor.index_select(0, rows)


def _upcast(tensor: Any) -> Any:
    """To float64 for the reference product; float8 through float32, the conversion every
    build has."""
    import torch

    if _is_fp8(tensor):
        tensor = tensor.to(torch.float32)
    return tensor.to(torch.float64)


class GemmCase:
    """One (shape, precision, backend) point of a GEMM sweep."""

    suite = "gemm"
    unit = "s"

    def __init__(self, m: int, n: int, k: int, precision: str, backend: str = "torch",
                 label: str | None = None, seed: int = 0) -> None:
        self.m, self.n, self.k = m, n, k
        self.precision = PRECISIONS[precision]
        self.backend = backend
        self.seed = seed
        self.name = label or f"gemm_{precision}"
        self.params = {"m": m, "n": n, "k": k, "dtype": precision, "backend": backend}
        if label:
            self.params["label"] = label
        self._a: list[Any] = []
        self._b: list[Any] = []
        self._c: Any = None
        self._scales: list[tuple[Any, Any]] = []
        """fp8 only: (scale_a, scale_b) of each input slot."""
        self._matmul_precision: str | None = None
        self._ops: list[Any] = []

    # -- what the device can run -------------------------------------------------------
    def skip_reason(self, device: Device) -> str | None:
        p = self.precision
        if self.backend == "cupy":
            if not device.is_cuda:
                return "the cupy backend needs a CUDA GPU"
            if p.name not in CUPY_PRECISIONS:
                return (
                    f"cupy backend runs {', '.join(CUPY_PRECISIONS)}; {p.name} is timed with"
                    " --backend torch"
                )
            try:
                import cupy  # noqa: F401
            except ImportError:
                return "cupy is not installed (pip install 'exabench[cupy]')"
        if not device.is_cuda:
            if not p.on_cpu:
                return f"{p.name} GEMM needs a GPU with tensor cores; this run is on the CPU"
            return None
        cc = device.compute_capability()
        if cc is not None and cc < p.min_capability:
            need = ".".join(map(str, p.min_capability))
            return f"{p.name} needs compute capability >= {need}; this GPU is {cc[0]}.{cc[1]}"
        # torch's _scaled_mm checks (ScaledBlas.cpp): mat1's trailing dim (k) and both dims of
        # mat2 (k, n) divisible by 16; m is free, so fp8 decode shapes (m = 1..8) run.
        if p.name == "fp8" and (self.n % 16 or self.k % 16):
            return "fp8 (torch._scaled_mm) needs n and k multiples of 16"
        if p.name == "int8" and (self.m <= 16 or self.n % 8 or self.k % 8):
            return "int8 (torch._int_mm) needs m > 16 and n, k multiples of 8"
        return None

    # -- memory -------------------------------------------------------------------------
    def bytes_per_slot(self) -> int:
        return (self.m * self.k + self.k * self.n) * self.precision.bytes_per_element

    def bytes_needed(self) -> int:
        out = {"fp8": 2, "int8": 4}.get(self.precision.name, self.precision.bytes_per_element)
        reference = (self.k * self.n + 2 * min(self.m, CHECK_ROWS) * max(self.n, self.k)) * 8
        return self.bytes_per_slot() + self.m * self.n * out + reference

    # -- inputs and the timed call ------------------------------------------------------
    def setup(self, device: Device, slots: int) -> None:
        import torch

        gen = torch.Generator(device=device.torch_device).manual_seed(self.seed)
        dev = device.torch_device
        p = self.precision.name
        if p in ("tf32", "fp32") and device.is_cuda:
            self._matmul_precision = torch.get_float32_matmul_precision()
            torch.set_float32_matmul_precision("high" if p == "tf32" else "highest")
        for _ in range(slots):
            if p == "int8":
                a = torch.randint(
                    -64, 64, (self.m, self.k), generator=gen, device=dev, dtype=torch.int8
                )
                b = torch.randint(
                    -64, 64, (self.n, self.k), generator=gen, device=dev, dtype=torch.int8
                ).t()
            elif p == "fp8":
                a32 = torch.randn(self.m, self.k, generator=gen, device=dev)
                b32 = torch.randn(self.n, self.k, generator=gen, device=dev)
                sa, sb = a32.abs().max() / FP8_MAX, b32.abs().max() / FP8_MAX
                a = (a32 / sa).to(torch.float8_e4m3fn)
                b = (b32 / sb).to(torch.float8_e4m3fn).t()  # column-major B, as _scaled_mm requires
                self._scales.append((sa.float(), sb.float()))
                del a32, b32
            else:
                dtype = getattr(torch, self.precision.torch_dtype)
                a = torch.randn(self.m, self.k, generator=gen, device=dev, dtype=torch.float32).to(
                    dtype
                )
                b = torch.randn(self.k, self.n, generator=gen, device=dev, dtype=torch.float32).to(
                    dtype
                )
            self._a.append(a)
            self._b.append(b)
        out_dtype = {"fp8": torch.bfloat16, "int8": torch.int32}.get(p, self._a[0].dtype)
        self._c = torch.empty(self.m, self.n, device=dev, dtype=out_dtype)
        if self.backend == "cupy":
            import cupy

            self._a = [cupy.from_dlpack(a) for a in self._a]
            self._b = [cupy.from_dlpack(b) for b in self._b]
            self._c = cupy.from_dlpack(self._c)
        self._bind_ops()

    def call(self, slot: int) -> None:
        self._ops[slot]()

    def _bind_ops(self) -> None:
        """One zero-argument callable per input slot, bound once so the timed call does no
        Python work beyond invoking the library."""
        import functools

        c = self._c
        if self.backend == "cupy":
            import cupy

            self._ops = [
                functools.partial(cupy.matmul, a, b, out=c)
                for a, b in zip(self._a, self._b, strict=True)
            ]
            return
        import torch

        p = self.precision.name
        if p == "fp8":
            self._ops = [functools.partial(torch._scaled_mm, a, b, scale_a=sa, scale_b=sb,
                                           out_dtype=torch.bfloat16, out=c)
                         for a, b, (sa, sb) in zip(self._a, self._b, self._scales, strict=True)]
        elif p == "int8":
            self._ops = [
                functools.partial(torch._int_mm, a, b, out=c)
                for a, b in zip(self._a, self._b, strict=True)
            ]
        else:
            self._ops = [
                functools.partial(torch.mm, a, b, out=c)
                for a, b in zip(self._a, self._b, strict=True)
            ]

    # -- correctness --------------------------------------------------------------------
    def check(self) -> Check:
        import torch

        self.call(0)
        a, b, c = self._a[0], self._b[0], self._c
        if self.backend == "cupy":
            a, b, c = (torch.from_dlpack(x) for x in (a, b, c))
        gen = torch.Generator().manual_seed(self.seed + 1)
        rows = torch.randperm(self.m, generator=gen)[: min(self.m, CHECK_ROWS)].to(c.device)
        a_rows = _upcast(_select_rows(a, rows))
        b64 = _upcast(b)
        if self._scales:
            a_rows = a_rows * self._scales[0][0].double()
            b64 = b64 * self._scales[0][1].double()
        reference = a_rows @ b64
        got = c.index_select(0, rows).to(torch.float64)
        norm = torch.linalg.vector_norm(reference).item()
        err = torch.linalg.vector_norm(got - reference).item() / (norm if norm else 1.0)
        tolerance = self.precision.tolerance
        return Check(ok=err <= tolerance, rel_error=err, tolerance=tolerance,
                     detail=f"({len(rows)} sampled rows vs float64)")

    # -- metrics ------------------------------------------------------------------------
    def metrics(self, seconds: float, device: Device) -> dict[str, Any]:
        achieved = tflops(self.m, self.n, self.k, seconds)
        peak, profile = peak_for(device, self.precision.name)
        return {
            "tflops": achieved,
            "pct_of_peak": pct_of_peak(achieved, peak),
            "peak_tflops": peak,
            "peak_source": f"workloads/hardware/{profile}.toml" if profile else None,
            "flop": gemm_flops(self.m, self.n, self.k),
        }

    def teardown(self) -> None:
        if self._matmul_precision is not None:
            import torch

            torch.set_float32_matmul_precision(self._matmul_precision)
            self._matmul_precision = None
        self._a, self._b, self._c, self._scales, self._ops = [], [], None, [], []
