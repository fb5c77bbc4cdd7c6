"""Correctness check of a STREAM kernel's output against a float64 reference (BabelStream
validates every array after its run; here it is done before timing, as every benchmark is
checked before it is timed: docs/timing.md).

Elementwise kernels are compared on a random sample of indices; ``dot`` over the whole array,
accumulated in float64 chunk by chunk so the reference never needs a float64 copy of an array.
The error is the largest relative error of the sample (``|got - ref| / |ref|``), or the
relative error of the dot.
"""

from __future__ import annotations

from typing import Any

from exabench.bench.harness import Check

# copy and fill must be bit-exact; scale/add/triad round once or twice (FMA or not) in the
# array's precision (u = 6e-8 fp32, 1.1e-16 fp64); dot accumulates n terms (all positive, so
# there is no cancellation) in a tree or blocked order.
TOLERANCES = {
    "fp32": {"copy": 0.0, "fill": 0.0, "scale": 1e-6, "add": 1e-6, "triad": 1e-6, "dot": 1e-4},
    "fp64": {"copy": 0.0, "fill": 0.0, "scale": 1e-14, "add": 1e-14, "triad": 1e-14, "dot": 1e-10},
}
DOT_CHUNK = 1 << 22


def expected(
    kernel: str, x: dict[str, Any], idx: Any, scalar: float, fill: float
) -> tuple[str, Any]:
    """(output array name, float64 reference at ``idx``) of an elementwise kernel."""
    import torch

    def at(name: str) -> Any:
        return x[name].index_select(0, idx).to(torch.float64)

    if kernel == "copy":
        return "c", at("a")
    if kernel == "scale":
        return "b", scalar * at("c")
    if kernel == "add":
        return "c", at("a") + at("b")
    if kernel == "triad":
        return "a", at("b") + scalar * at("c")
    if kernel == "fill":
        return "a", torch.full((len(idx),), fill, dtype=x["a"].dtype, device=idx.device).to(
            torch.float64
        )
    raise AssertionError(f"no elementwise reference for {kernel}")


def dot_reference(a: Any, b: Any) -> float:
    import torch

    total = 0.0
    for start in range(0, a.numel(), DOT_CHUNK):
        stop = start + DOT_CHUNK
        total += torch.dot(a[start:stop].to(torch.float64), b[start:stop].to(torch.float64)).item()
    return total


def check_kernel(kernel: str, x: dict[str, Any], out: Any, scalar: float, fill: float, dtype: str,
                 seed: int = 1, sample: int = 1 << 20) -> Check:
    """Compare the arrays after one call of ``kernel`` with the float64 reference."""
    import torch

    tolerance = TOLERANCES[dtype][kernel]
    if kernel == "dot":
        ref = dot_reference(x["a"], x["b"])
        got = float(out.item())
        err = abs(got - ref) / abs(ref)
        return Check(
            ok=err <= tolerance, rel_error=err, tolerance=tolerance, detail="(dot vs float64 sum)"
        )
    n = x[next(iter(x))].numel()
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, n, (min(n, sample),), generator=gen) if n > sample else torch.arange(n)
    idx = idx.to(x[next(iter(x))].device)
    name, ref = expected(kernel, x, idx, scalar, fill)
    got = x[name].index_select(0, idx).to(torch.float64)
    err = ((got - ref).abs() / ref.abs()).max().item()
    return Check(ok=err <= tolerance, rel_error=err, tolerance=tolerance,
                 detail=f"({len(idx)} sampled elements vs float64)")
