"""The ``memory`` suite: turns ``exabench bench memory`` options into cases (STREAM kernels on
the device's memory, host links, peer links) and sets its timing.

No cache flush between calls: the size sweep is meant to show the cache (small arrays stay in
L2 or the CPU's caches), and arrays well beyond the cache never hit it anyway.
"""

from __future__ import annotations

from typing import Any

from exabench.bench.device import Device
from exabench.bench.harness import Case, TimingConfig
from exabench.bench.memory import hostlinks, peerlinks
from exabench.bench.memory import stream as memory
from exabench.errors import UserError

LINKS = ("host", "peer")
ALL_DIRECTIONS = ("h2d", "d2h", "d2d", "both")


def parse_list(text: str | None, option: str, valid: tuple[str, ...], default: tuple[str, ...]) -> list[str]:
    """A comma list of names from ``valid``; ``default`` when ``text`` is empty."""
    if not text:
        return list(default)
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in valid]
    if bad or not names:
        raise UserError(f"{option} {bad[0] if bad else text!r} is not valid; valid: {','.join(valid)}")
    return list(dict.fromkeys(names))


def _cupy_importable() -> bool:
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True


def memory_cases(options: dict[str, Any], device: Device, quick: bool) -> list[Case]:
    stream_default = tuple(memory.KERNELS)
    kernel_default = stream_default + (LINKS if device.is_cuda else ())
    kernels = parse_list(options.get("kernels"), "--kernels", tuple(memory.KERNELS) + LINKS, kernel_default)
    backend_default = ("torch", "cupy") if device.is_cuda and _cupy_importable() else ("torch",)
    backends = parse_list(options.get("backend"), "--backend", memory.BACKENDS, backend_default)
    dtypes = parse_list(options.get("dtype"), "--dtype", tuple(memory.DTYPES), ("fp32",))
    directions = parse_list(options.get("direction"), "--direction", ALL_DIRECTIONS, ALL_DIRECTIONS)
    sizes = memory.parse_bytes(options["sizes"]) if options.get("sizes") else None

    if sizes is None:
        if device.is_cuda:
            sizes = memory.QUICK_GPU_SIZES if quick else memory.FULL_GPU_SIZES
        else:
            sizes = memory.QUICK_CPU_SIZES if quick else memory.FULL_CPU_SIZES
    cases: list[Case] = []
    for backend in backends:
        for dtype in dtypes:
            for kernel in (k for k in kernels if k in memory.KERNELS):
                cases += [memory.StreamCase(kernel, size, dtype, backend) for size in sizes]
    if "host" in kernels:
        host_sizes = options.get("sizes") and sizes or (hostlinks.QUICK_SIZES if quick else hostlinks.FULL_SIZES)
        # On a CPU the host links are recorded skipped once, not once per size.
        cases += hostlinks.host_cases(directions, host_sizes if device.is_cuda else host_sizes[:1])
    if "peer" in kernels:
        peer_sizes = options.get("sizes") and sizes or (peerlinks.QUICK_SIZES if quick else peerlinks.FULL_SIZES)
        peers = peerlinks.peer_cases(directions, peer_sizes)
        if not peers and options.get("kernels"):
            # Asked for by name on a machine with fewer than two GPUs: say why, as a result.
            peers = [peerlinks.PeerCopyCase(0, 1, d, s) for d in peerlinks.DIRECTIONS if d in directions
                     for s in peer_sizes[:1]]
        cases += peers
    if not cases:
        raise UserError(f"--kernels {','.join(kernels)} with --direction {','.join(directions)} selects nothing; "
                        "host links take h2d,d2h,both and peer links d2d,both")
    return cases


def memory_timing(device: Device, quick: bool) -> TimingConfig:
    if device.is_cuda:
        return TimingConfig(warmup_ms=10 if quick else 25, rep_ms=50 if quick else 100, flush="none")
    # CPU: a copy of a 1 GiB array takes ~0.1 s, so the sample count comes from min_samples.
    return TimingConfig(warmup_ms=10 if quick else 25, rep_ms=50 if quick else 200,
                        min_samples=5, max_samples=200, flush="none")
