"""Raw CUDA STREAM kernels through cupy ``RawKernel``: 16-byte vector loads and stores
(``float4`` / ``double2``), consecutive threads on consecutive vectors (coalesced), so the
figure is the memory's rather than a framework's.

Launch shape: one vector per thread in blocks of 256 with a grid-stride loop as a guard
(BabelStream launches ``array_size / TBSIZE`` blocks); ``dot`` uses ``4 × SMs`` blocks of
1024 threads, each thread accumulating a grid-stride partial sum, a shared-memory tree per
block, and the block partials summed by a second small reduction (BabelStream
``CUDAStream::dot``). Every kernel is launched on torch's current stream, where the harness
records its CUDA events.
"""

from __future__ import annotations

from typing import Any

THREADS = 256
DOT_THREADS = 1024

# (vector type, scalar type, components, make function) per dtype.
VECTORS = {
    "fp32": ("float4", "float", ("x", "y", "z", "w"), "make_float4"),
    "fp64": ("double2", "double", ("x", "y"), "make_double2"),
}

_ELEMENTWISE = {
    # kernel: (signature after the vector type, per-component expression)
    "copy": ("const V* __restrict__ a, V* __restrict__ c", "c", "a[i].{q}"),
    "scale": ("const V* __restrict__ c, V* __restrict__ b, const S s", "b", "s * c[i].{q}"),
    "add": (
        "const V* __restrict__ a, const V* __restrict__ b, V* __restrict__ c",
        "c",
        "a[i].{q} + b[i].{q}",
    ),
    "triad": (
        "const V* __restrict__ b, const V* __restrict__ c, V* __restrict__ a, const S s",
        "a",
        "b[i].{q} + s * c[i].{q}",
    ),
    "fill": ("V* __restrict__ a, const S v", "a", "v"),
}


def elementwise_source(kernel: str, dtype: str) -> str:
    """CUDA source of one elementwise kernel: loads whole vectors, writes one vector per step."""
    vec, scalar, parts, make = VECTORS[dtype]
    signature, out, expr = _ELEMENTWISE[kernel]
    if kernel in ("copy",):
        body = f"{out}[i] = a[i];"
    else:
        body = f"{out}[i] = {make}({', '.join(expr.format(q=q) for q in parts)});"
    return (
        f"typedef {vec} V; typedef {scalar} S;\n"
        f'extern "C" __global__ void stream_{kernel}({signature}, const size_t n) {{\n'
        "  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;\n"
        "       i += (size_t)blockDim.x * gridDim.x) {\n"
        f"    {body}\n"
        "  }\n}\n"
    )


def dot_source(dtype: str) -> str:
    vec, scalar, parts, _make = VECTORS[dtype]
    terms = " + ".join(f"x.{q} * y.{q}" for q in parts)
    return (
        f"typedef {vec} V; typedef {scalar} S;\n"
        'extern "C" __global__ void stream_dot(const V* __restrict__ a, const V* __restrict__ b,\n'
        "                                      S* __restrict__ partial, const size_t n) {\n"
        f"  __shared__ S tile[{DOT_THREADS}];\n"
        "  S sum = 0;\n"
        "  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < n;\n"
        "       i += (size_t)blockDim.x * gridDim.x) {\n"
        f"    const V x = a[i]; const V y = b[i]; sum += {terms};\n"
        "  }\n"
        "  tile[threadIdx.x] = sum;\n"
        "  for (int offset = blockDim.x / 2; offset > 0; offset /= 2) {\n"
        "    __syncthreads();\n"
        "    if (threadIdx.x < offset) tile[threadIdx.x] += tile[threadIdx.x + offset];\n"
        "  }\n"
        "  if (threadIdx.x == 0) partial[blockIdx.x] = tile[0];\n}\n"
    )


class StreamRunner:
    """Compiles one kernel and launches it on torch's current stream of ``device_index``."""

    def __init__(self, kernel: str, dtype: str, device_index: int) -> None:
        import cupy

        self.kernel, self.dtype, self.device_index = kernel, dtype, device_index
        self.lanes = len(VECTORS[dtype][2])
        self.scalar = cupy.float32 if dtype == "fp32" else cupy.float64
        with cupy.cuda.Device(device_index):
            if kernel == "dot":
                self.fn = cupy.RawKernel(dot_source(dtype), "stream_dot")
                sms = cupy.cuda.Device(device_index).attributes["MultiProcessorCount"]
                self.dot_blocks = 4 * sms
                self.partial = cupy.empty(self.dot_blocks, dtype=self.scalar)
            else:
                self.fn = cupy.RawKernel(elementwise_source(kernel, dtype), f"stream_{kernel}")
        self._views: dict[int, Any] = {}

    def _vectors(self, tensor: Any) -> Any:
        """A cupy view of a torch tensor (shared memory, no copy), cached per tensor."""
        import cupy

        key = tensor.data_ptr()
        if key not in self._views:
            self._views[key] = cupy.from_dlpack(tensor)
        return self._views[key]

    def __call__(self, x: dict[str, Any], scalar: float, fill: float, out: Any) -> None:
        import cupy
        import torch

        stream = torch.cuda.current_stream(self.device_index)
        v = {name: self._vectors(t) for name, t in x.items()}
        n = next(iter(x.values())).numel() // self.lanes
        s = self.scalar(scalar)
        with cupy.cuda.Device(self.device_index), cupy.cuda.ExternalStream(stream.cuda_stream):
            if self.kernel == "dot":
                self.fn(
                    (self.dot_blocks,),
                    (DOT_THREADS,),
                    (v["a"], v["b"], self.partial, cupy.uint64(n)),
                )
                cupy.sum(self.partial, out=self._vectors(out))
                return
            args = {
                "copy": (v.get("a"), v.get("c")),
                "scale": (v.get("c"), v.get("b"), s),
                "add": (v.get("a"), v.get("b"), v.get("c")),
                "triad": (v.get("b"), v.get("c"), v.get("a"), s),
                "fill": (v.get("a"), self.scalar(fill)),
            }[self.kernel]
            blocks = min(-(-n // THREADS), 2**31 - 1)
            self.fn((blocks,), (THREADS,), (*args, cupy.uint64(n)))
