"""A background NVML sampler: power, energy, clocks, temperature, utilisation and
clocks-event (throttle) reasons of the benchmarked GPU, summarised per result window and over
the whole run (with the timeline, for the report's power/clock/throttle chart).

How it avoids disturbing what it measures: the sampler thread only calls NVML, which reads
the driver's counters over ioctl and never touches the CUDA context, so it never synchronises
the device nor queues work on it; ctypes releases the GIL inside each NVML call, so the
benchmark thread keeps launching kernels. The only NVML reads on the benchmark thread are the
energy counter at the edges of a window, outside the timed calls.

Energy: the NVML total-energy counter (millijoules since driver load, Volta and newer) read at
each window's edges, when the GPU has it and it advanced; otherwise power integrated over the
samples (trapezoid rule), and ``energy_source`` says which (Zeus does the same,
ml-energy/zeus@75a8b93; the counter updates about every 10 ms on some GPUs, so it can read zero
over a very short window, powerapi-ng/pyJoules#17). ``power_mean_w`` is energy / duration when
the counter is used.

``pynvml`` is injected (``nvml=``), so the tests drive the sampler with a fake NVML object.
Without a GPU or NVML there is no sampler and every telemetry field stays null.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from exabench.bench.env import nvml_uuid
from exabench.bench.telemetry.summary import integrate, summarize_rows, throttled_spans, timeline

DEFAULT_HZ = 20.0
COLUMNS = (
    "t_s",
    "power_w",
    "sm_clock_mhz",
    "mem_clock_mhz",
    "temp_c",
    "util_gpu_pct",
    "util_mem_pct",
    "reasons",
)


class NvmlSampler:
    """Samples one GPU at ``hz`` on a daemon thread; :meth:`window` summarises a span."""

    def __init__(self, nvml: Any, handle: Any, *, hz: float = DEFAULT_HZ, label: str | None = None,
                 gpu: int | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if not hz > 0:
            raise ValueError(f"sampling rate {hz!r} Hz must be positive")
        self.nvml, self.handle, self.hz, self.label, self.gpu, self.clock = (
            nvml,
            handle,
            hz,
            label,
            gpu,
            clock,
        )
        self.rows: list[tuple[Any, ...]] = []
        self._unsupported: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.t0 = clock()
        self.energy0 = self.read_energy()
        self.energy_counter = self.energy0 is not None

    # -- reading NVML -----------------------------------------------------------------
    def _get(self, field: str, fn: Callable[[], Any]) -> Any:
        """One NVML read; a field the GPU doesn't support is None and is not asked again."""
        if field in self._unsupported:
            return None
        try:
            return fn()
        except Exception:  # noqa: BLE001 - NVMLError_NotSupported and friends: a missing field
            self._unsupported.add(field)
            return None

    def read_energy(self) -> float | None:
        """Total energy since driver load, joules (NVML reports millijoules)."""
        mj = self._get("energy", lambda: self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle))
        return None if mj is None else mj / 1000.0

    def _reasons(self) -> int:
        getter = getattr(self.nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or \
            self.nvml.nvmlDeviceGetCurrentClocksThrottleReasons
        return int(getter(self.handle))

    def now(self) -> float:
        """Seconds since the sampler started, on its clock: the ``t_s`` of its rows."""
        return self.clock() - self.t0

    def read(self) -> tuple[Any, ...]:
        """One sample, in :data:`COLUMNS` order (``t_s`` from the sampler's start)."""
        n, h = self.nvml, self.handle
        t = self.now()
        mw = self._get("power", lambda: n.nvmlDeviceGetPowerUsage(h))
        util = self._get("util", lambda: n.nvmlDeviceGetUtilizationRates(h))
        return (
            t,
            None if mw is None else mw / 1000.0,
            self._get("sm_clock", lambda: n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_SM)),
            self._get("mem_clock", lambda: n.nvmlDeviceGetClockInfo(h, n.NVML_CLOCK_MEM)),
            self._get("temp", lambda: n.nvmlDeviceGetTemperature(h, n.NVML_TEMPERATURE_GPU)),
            None if util is None else util.gpu,
            None if util is None else util.memory,
            self._get("reasons", self._reasons),
        )

    def sample_once(self) -> None:
        row = self.read()
        with self._lock:
            self.rows.append(row)

    # -- the thread ---------------------------------------------------------------------
    def start(self) -> NvmlSampler:
        self.sample_once()  # a first sample now, so every window has one at or before it
        self._thread = threading.Thread(target=self._loop, name="exabench-nvml", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        period = 1.0 / self.hz
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.sample_once()
            next_at += period
            # Sleep to a fixed schedule (no drift); if a read overran, skip ahead.
            delay = next_at - time.monotonic()
            if delay < 0:
                next_at, delay = time.monotonic(), 0.0
            self._stop.wait(delay)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001 - shutting down is best effort
            pass

    # -- summaries ----------------------------------------------------------------------
    def rows_between(self, start: float, end: float) -> list[tuple[Any, ...]]:
        with self._lock:
            return [r for r in self.rows if start <= r[0] <= end]

    @contextmanager
    def window(self) -> Iterator[Window]:
        win = Window(self)
        win.open()
        try:
            yield win
        finally:
            win.close()

    def run_summary(self, max_rows: int = 20000) -> dict[str, Any]:
        """The whole run: the window summary from the start to now, plus the timeline."""
        end = self.now()
        energy = self.read_energy()
        with self._lock:
            rows = list(self.rows)
        summary = _window_summary(rows, 0.0, end, self.energy0, energy)
        summary.update({
            "device": self.label,
            "gpu": self.gpu,
            "hz": self.hz,
            "energy_counter": self.energy_counter,
            "timeline": timeline(rows, COLUMNS, max_rows, self.gpu),
        })
        return summary


class Window:
    """The span of one result: its edges on the sampler's clock and the energy counter there."""

    def __init__(self, sampler: NvmlSampler) -> None:
        self.sampler = sampler
        self.start = self.end = 0.0
        self.energy_start: float | None = None
        self.energy_end: float | None = None

    def open(self) -> None:
        self.energy_start = self.sampler.read_energy()
        self.start = self.sampler.now()

    def close(self) -> None:
        self.end = self.sampler.now()
        self.energy_end = self.sampler.read_energy()

    def now(self) -> float:
        """The sampler's clock, as its rows' ``t_s`` read it: timed calls are placed on it."""
        return self.sampler.now()

    def throttled_calls(self, spans: list[tuple[float, float]]) -> list[int]:
        """Which timed calls, ``(start, end)`` on :meth:`now`'s clock, ran throttled
        (:func:`~exabench.bench.telemetry.summary.throttled_spans`)."""
        return throttled_spans(self.sampler.rows_between(-1e18, self.end), spans)

    def summary(self) -> dict[str, Any]:
        rows = self.sampler.rows_between(self.start, self.end)
        before = [r for r in self.sampler.rows_between(-1e18, self.start)][-1:]
        return _window_summary(
            rows, self.start, self.end, self.energy_start, self.energy_end, before
        )


def _window_summary(rows, start, end, energy_start, energy_end, before=()) -> dict[str, Any]:
    """A window shorter than the sampling period may hold no sample: it then reports the last
    sample before it (at most one period old; the harness warms up right before the window)
    and says so with ``samples: 0, sample_before: true``."""
    duration = max(end - start, 0.0)
    summary = summarize_rows(rows or list(before))
    if not rows:
        summary["samples"], summary["sample_before"] = 0, bool(before)
    counter = None if energy_start is None or energy_end is None else energy_end - energy_start
    if counter is not None and counter > 0:
        summary["energy_j"], summary["energy_source"] = counter, "nvml_total_energy"
        summary["power_mean_w"] = counter / duration if duration > 0 else summary["power_mean_w"]
    else:
        summary["energy_j"] = integrate(list(before) + rows, start, end)
        why = "no energy counter" if counter is None else "energy counter did not advance"
        summary["energy_source"] = f"integrated_power ({why})"
    summary["duration_s"] = duration
    return summary


def open_sampler(
    device: Any, hz: float = DEFAULT_HZ, nvml: Any = None
) -> tuple[NvmlSampler | None, str | None]:
    """A started sampler for the run's GPU, or ``(None, why not)`` on a CPU or without NVML."""
    if not getattr(device, "is_cuda", False):
        return None, "no GPU: no telemetry"
    if not hz:
        return None, "telemetry disabled (--telemetry-hz 0)"
    if nvml is None:
        try:
            import pynvml as nvml
        except ImportError:
            return None, "pynvml not installed (pip install 'exabench[bench]'): no telemetry"
    try:
        nvml.nvmlInit()
        handle = _handle_for(nvml, device.index)
        label = nvml.nvmlDeviceGetName(handle)
    except Exception as error:  # noqa: BLE001 - NVML missing or broken: run without telemetry
        return None, f"NVML unavailable ({error}): no telemetry"
    label = label.decode() if isinstance(label, bytes) else str(label)
    return NvmlSampler(nvml, handle, hz=hz, label=label, gpu=device.index).start(), None


def _handle_for(nvml: Any, cuda_index: int) -> Any:
    """The NVML handle of CUDA device ``cuda_index``, by UUID (CUDA_VISIBLE_DEVICES renumbers
    CUDA devices but not NVML's), else by the same index. torch prints a UUID bare, and under
    MIG that UUID is the instance's, which NVML spells ``MIG-...``: both spellings are tried."""
    try:
        import torch

        uuid = nvml_uuid(torch.cuda.get_device_properties(cuda_index))
    except Exception:  # noqa: BLE001 - older torch without .uuid
        uuid = None
    spellings = [uuid] if uuid else []
    if uuid and uuid.startswith("GPU-"):
        spellings.append("MIG-" + uuid[4:])
    for spelling in spellings:
        try:
            return nvml.nvmlDeviceGetHandleByUUID(spelling)
        except Exception:  # noqa: BLE001 - not this spelling (or a fake NVML without UUIDs)
            continue
    return nvml.nvmlDeviceGetHandleByIndex(cuda_index)


def add_work_figures(result: dict[str, Any]) -> None:
    """Energy per call and per unit of work, from the window's mean power × the median call
    time (the window's energy also covers cache flushes between calls, so energy / calls
    would overcount): ``j_per_tflop`` when the metrics give ``flop``, ``j_per_gb`` when they
    give ``bytes_moved`` (decimal GB)."""
    tel, median = result.get("telemetry"), (result.get("stats") or {}).get("median")
    if not tel or result.get("status") != "ok" or not median or tel.get("power_mean_w") is None:
        return
    per_call = tel["power_mean_w"] * median
    tel["energy_per_call_j"] = per_call
    metrics = result.get("metrics") or {}
    if metrics.get("flop"):
        tel["j_per_tflop"] = per_call / (metrics["flop"] / 1e12)
    if metrics.get("bytes_moved"):
        tel["j_per_gb"] = per_call / (metrics["bytes_moved"] / 1e9)
