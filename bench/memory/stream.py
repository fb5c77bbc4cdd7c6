"""Device-memory bandwidth: the STREAM / BabelStream kernels on GPU HBM or host DRAM.

Kernels (UoB-HPC/BabelStream@57637d5 ``src/cuda/CUDAStream.cu``; weights ``src/benchmark.h``),
with ``s = 0.4`` and random inputs in ``[0.5, 1.5)`` (never zeros)::

    copy   c = a              2 arrays moved (read a, write c)
    scale  b = s·c            2
    add    c = a + b          3
    triad  a = b + s·c        3
    dot    Σ a·b              2 (read-only)
    fill   a = v              1 (write-only)

Bytes per call = arrays moved × bytes of one array: the STREAM "minimum traffic" convention
(BabelStream ``benchmark.h`` weights), no write-allocate traffic counted. GB/s is decimal
(1e9), over the median call time; ``pct_of_peak`` is against the datasheet HBM bandwidth of the
GPU (``workloads/hardware/*.toml``), None on a CPU or an unknown GPU.

Each kernel writes an array it does not read, so calls are idempotent and the result can be
checked against a float64 reference before timing. Backends: ``torch`` (one ATen op per
kernel) and ``cupy`` (raw kernels with 16-byte vector loads, :mod:`exabench.bench.memory.kernels`),
so the figure is the memory's, not a framework's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exabench.bench.device import Device
from exabench.bench.harness import Check
from exabench.bench.memory.check import DOT_CHUNK, check_kernel
from exabench.bench.memory.kernels import StreamRunner
from exabench.workloads.hardware import match_device

SCALAR = 0.4
"""BabelStream's ``startScalar``."""
FILL_VALUE = 0.7
BACKENDS = ("torch", "cupy")
DTYPES = {"fp32": ("float32", 4), "fp64": ("float64", 8)}
CHECK_ELEMENTS = 1 << 20
"""Elements sampled for the elementwise check (dot is checked over the whole array)."""
VECTOR_BYTES = 16
"""Arrays hold a whole number of 16-byte vectors (float4 / double2) for the raw kernels."""

KIB, MIB, GIB = 1 << 10, 1 << 20, 1 << 30
# GPU: 1-16 MiB sit inside a 50 MB L2 (the cache shows), 256 MiB and up is HBM.
FULL_GPU_SIZES = (1 * MIB, 4 * MIB, 16 * MIB, 64 * MIB, 256 * MIB, 1 * GIB, 4 * GIB)
QUICK_GPU_SIZES = (4 * MIB, 1 * GIB)
# CPU: L1/L2-resident up to beyond a large server L3 (hundreds of MiB).
FULL_CPU_SIZES = (64 * KIB, 1 * MIB, 16 * MIB, 256 * MIB, 1 * GIB, 2 * GIB)
QUICK_CPU_SIZES = (1 * MIB, 64 * MIB)


@dataclass(kw_only=True, frozen=True)
class Kernel:
    """One STREAM kernel: which arrays it reads and writes."""

    name: str
    formula: str
    reads: tuple[str, ...]
    writes: str | None
    """The array written; None for the reduction (dot)."""

    @property
    def arrays_moved(self) -> int:
        """BabelStream's weight: arrays read plus arrays written, each counted once."""
        return len(self.reads) + (1 if self.writes else 0)

    @property
    def arrays(self) -> tuple[str, ...]:
        return self.reads + ((self.writes,) if self.writes else ())


KERNELS: dict[str, Kernel] = {k.name: k for k in (
    Kernel(name="copy", formula="c = a", reads=("a",), writes="c"),
    Kernel(name="scale", formula="b = s*c", reads=("c",), writes="b"),
    Kernel(name="add", formula="c = a + b", reads=("a", "b"), writes="c"),
    Kernel(name="triad", formula="a = b + s*c", reads=("b", "c"), writes="a"),
    Kernel(name="dot", formula="sum(a*b)", reads=("a", "b"), writes=None),
    Kernel(name="fill", formula="a = v", reads=(), writes="a"),
)}


def bytes_moved(kernel: str, array_bytes: int) -> int:
    """Bytes one call moves: arrays read + written × bytes of one array (BabelStream)."""
    return KERNELS[kernel].arrays_moved * array_bytes


def gbps(nbytes: float, seconds: float) -> float:
    """Decimal GB/s: ``nbytes / seconds / 1e9``."""
    return nbytes / seconds / 1e9


def pct_of_peak(achieved_gbps: float, peak_gbps: float | None) -> float | None:
    if not peak_gbps:
        return None
    return 100.0 * achieved_gbps / peak_gbps


def hardware_profile(device: Device) -> Any:
    """The shipped hardware profile of a GPU (None on a CPU or an unknown GPU)."""
    if not device.is_cuda:
        return None
    return match_device(device.name())


def peak_metrics(achieved: float, peak: float | None, profile: Any) -> dict[str, Any]:
    return {"gbps": achieved, "pct_of_peak": pct_of_peak(achieved, peak), "peak_gbps": peak,
            "peak_source": f"workloads/hardware/{profile.name}.toml" if profile and peak else None}


def elements_for(nbytes: int, itemsize: int) -> int:
    """Elements of one array: ``nbytes`` rounded down to whole 16-byte vectors."""
    return max(1, nbytes // VECTOR_BYTES) * (VECTOR_BYTES // itemsize)


class StreamCase:
    """One (kernel, array size, dtype, backend) point of the STREAM sweep."""

    suite = "memory"
    unit = "s"

    def __init__(
        self, kernel: str, nbytes: int, dtype: str = "fp32", backend: str = "torch", seed: int = 0
    ) -> None:
        self.kernel = KERNELS[kernel]
        self.dtype_name, self.itemsize = dtype, DTYPES[dtype][1]
        self.n = elements_for(nbytes, self.itemsize)
        self.array_bytes = self.n * self.itemsize
        self.backend = backend
        self.seed = seed
        self.name = kernel
        self.params = {
            "kernel": kernel,
            "bytes": self.array_bytes,
            "dtype": dtype,
            "backend": backend,
        }
        self._sets: list[dict[str, Any]] = []
        self._out: Any = None
        self._runner: Any = None

    def skip_reason(self, device: Device) -> str | None:
        if self.backend == "cupy":
            if not device.is_cuda:
                return "the cupy backend needs a CUDA GPU; this run is on the CPU"
            try:
                import cupy  # noqa: F401
            except ImportError:
                return "cupy is not installed (pip install 'exabench[cupy]')"
        return None

    def bytes_per_slot(self) -> int:
        return len(self.kernel.arrays) * self.array_bytes

    def bytes_needed(self) -> int:
        # The check holds three float64 samples of CHECK_ELEMENTS, or dot's two float64 chunks.
        check = (
            2 * 8 * min(self.n, DOT_CHUNK)
            if self.kernel.name == "dot"
            else 3 * 8 * min(self.n, CHECK_ELEMENTS)
        )
        return self.bytes_per_slot() + check

    def setup(self, device: Device, slots: int) -> None:
        import torch

        dtype = getattr(torch, DTYPES[self.dtype_name][0])
        gen = torch.Generator(device=device.torch_device).manual_seed(self.seed)
        for _ in range(slots):
            arrays = {}
            for name in self.kernel.arrays:
                x = torch.rand(self.n, generator=gen, device=device.torch_device, dtype=dtype)
                arrays[name] = x.add_(0.5)
            self._sets.append(arrays)
        self._out = torch.empty((), device=device.torch_device, dtype=dtype)
        if self.backend == "cupy":
            self._runner = StreamRunner(self.kernel.name, self.dtype_name, device.index)

    def call(self, slot: int) -> None:
        x = self._sets[slot]
        if self._runner is not None:
            self._runner(x, SCALAR, FILL_VALUE, self._out)
            return
        import torch

        k = self.kernel.name
        if k == "copy":
            x["c"].copy_(x["a"])
        elif k == "scale":
            torch.mul(x["c"], SCALAR, out=x["b"])
        elif k == "add":
            torch.add(x["a"], x["b"], out=x["c"])
        elif k == "triad":
            torch.add(x["b"], x["c"], alpha=SCALAR, out=x["a"])
        elif k == "dot":
            torch.dot(x["a"], x["b"], out=self._out)
        else:
            x["a"].fill_(FILL_VALUE)

    def check(self) -> Check:
        self.call(0)
        return check_kernel(self.kernel.name, self._sets[0], self._out, SCALAR, FILL_VALUE,
                            self.dtype_name, seed=self.seed + 1)

    def metrics(self, seconds: float, device: Device) -> dict[str, Any]:
        moved = bytes_moved(self.kernel.name, self.array_bytes)
        profile = hardware_profile(device)
        peak = profile.hbm_bandwidth_gbps if profile else None
        return {**peak_metrics(gbps(moved, seconds), peak, profile), "bytes_moved": moved,
                "arrays_moved": self.kernel.arrays_moved}

    def teardown(self) -> None:
        self._sets, self._out, self._runner = [], None, None
