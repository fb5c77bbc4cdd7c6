"""The ``memory`` suite: turns a :class:`~exabench.bench.sweeps.MemorySweep` into cases (STREAM
kernels on the device's memory, host links, peer links) and sets its timing.

No cache flush between calls: the size sweep is meant to show the cache (small arrays stay in
L2 or the CPU's caches), and arrays well beyond the cache never hit it anyway.
"""

from __future__ import annotations

from exabench.bench.device import Device
from exabench.bench.harness import Case, TimingConfig
from exabench.bench.memory import hostlinks, peerlinks
from exabench.bench.memory import stream as memory
from exabench.bench.sweeps import MEMORY_DIRECTIONS, MEMORY_LINKS, MemorySweep
from exabench.errors import UserError


def _cupy_importable() -> bool:
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return True


def memory_cases(sweep: MemorySweep, device: Device, quick: bool) -> list[Case]:
    kernels = sweep.kernels or (*memory.KERNELS, *(MEMORY_LINKS if device.is_cuda else ()))
    with_cupy = device.is_cuda and _cupy_importable()
    backends = sweep.backend or (("torch", "cupy") if with_cupy else ("torch",))
    dtypes = sweep.dtype or ("fp32",)
    directions = sweep.direction or MEMORY_DIRECTIONS
    sizes = sweep.sizes
    if sizes is None:
        if device.is_cuda:
            sizes = memory.QUICK_GPU_SIZES if quick else memory.FULL_GPU_SIZES
        else:
            sizes = memory.QUICK_CPU_SIZES if quick else memory.FULL_CPU_SIZES
    stream_kernels = [k for k in kernels if k in memory.KERNELS]
    cases: list[Case] = [memory.StreamCase(kernel, size, dtype, backend)
                         for backend in backends for dtype in dtypes
                         for kernel in stream_kernels for size in sizes]
    if "host" in kernels:
        host_sizes = sweep.sizes or (hostlinks.QUICK_SIZES if quick else hostlinks.FULL_SIZES)
        # On a CPU the host links are recorded skipped once, not once per size.
        cases += hostlinks.host_cases(directions, host_sizes if device.is_cuda else host_sizes[:1])
    if "peer" in kernels:
        peer_sizes = sweep.sizes or (peerlinks.QUICK_SIZES if quick else peerlinks.FULL_SIZES)
        peers = peerlinks.peer_cases(directions, peer_sizes)
        if not peers and sweep.kernels:
            # Asked for by name on a machine with fewer than two GPUs: say why, as a result.
            peers = [peerlinks.PeerCopyCase(0, 1, d, s) for d in peerlinks.DIRECTIONS
                     if d in directions for s in peer_sizes[:1]]
        cases += peers
    if not cases:
        raise UserError(f"--kernels {','.join(kernels)} with --direction {','.join(directions)} "
                        "selects nothing; host links take h2d,d2h,both and peer links d2d,both")
    return cases


def memory_timing(device: Device, quick: bool) -> TimingConfig:
    if device.is_cuda:
        return TimingConfig(
            warmup_ms=10 if quick else 25, rep_ms=50 if quick else 100, flush="none"
        )
    # CPU: a copy of a 1 GiB array takes ~0.1 s, so the sample count comes from min_samples.
    return TimingConfig(warmup_ms=10 if quick else 25, rep_ms=50 if quick else 200,
                        min_samples=5, max_samples=200, flush="none")
