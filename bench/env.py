"""Environment capture: the fingerprint behind ``exabench env`` and every Run's ``environment``.

GPU facts come from NVML (``pynvml``, shipped by nvidia-ml-py) and torch; host facts from the
standard library. Anything that can't be read is None: a machine without a GPU, NVML or torch
gets a complete, smaller fingerprint, never a crash.

``fingerprint`` is a stable hash of the *identity* (what hardware and software produced the
numbers: GPU model and count, memory, driver, CUDA, torch, NCCL, CPU model, core count), not of
the *state* (clocks, temperatures, hostname), so two runs on the same kind of node compare.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import socket
from typing import Any

from exabench import __version__
from exabench.documents.run import identity_field

# Identity fields hashed into the fingerprint, as dotted paths into the environment document.
FINGERPRINT_FIELDS = (
    "gpu.count", "gpu.devices.name", "gpu.devices.memory_bytes", "gpu.devices.sm_count",
    "gpu.devices.compute_capability", "gpu.driver", "gpu.cuda_runtime", "gpu.nccl",
    "software.torch", "software.cupy", "host.cpu_model", "host.cpu_cores", "host.machine",
)


def _safe(fn, default=None):
    try:
        return fn()
    except Exception:  # noqa: BLE001 - a missing fact is None, never a crash
        return default


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith(("model name", "hardware")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def host_info() -> dict[str, Any]:
    return {
        "hostname": socket.gethostname(),
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "cpu_cores": os.cpu_count(),
        "cpus_usable": (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        ),
        "memory_bytes": _memory_bytes(),
    }


def software_info() -> dict[str, Any]:
    info: dict[str, Any] = {"exabench": __version__, "torch": None, "cupy": None, "numpy": None}
    for module in ("torch", "cupy", "numpy"):
        try:
            info[module] = __import__(module).__version__
        except Exception:  # noqa: BLE001 - absent or broken install: not this run's concern
            info[module] = None
    return info


def _nvml_devices() -> tuple[list[dict[str, Any]], str | None, str | None]:
    """Per-GPU facts from NVML, the driver version, and why NVML was unavailable (if it was)."""
    try:
        import pynvml
    except ImportError:
        return [], None, "pynvml not installed (pip install 'exabench[bench]')"
    try:
        pynvml.nvmlInit()
    except Exception as error:  # noqa: BLE001 - NVMLError_LibraryNotFound and friends
        return [], None, f"NVML unavailable: {error}"
    try:
        driver = _safe(pynvml.nvmlSystemGetDriverVersion)
        devices = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            mem = _safe(lambda h=handle: pynvml.nvmlDeviceGetMemoryInfo(h).total)
            cc = _safe(lambda h=handle: pynvml.nvmlDeviceGetCudaComputeCapability(h))
            ecc = _safe(lambda h=handle: pynvml.nvmlDeviceGetEccMode(h)[0])
            mig = _safe(lambda h=handle: pynvml.nvmlDeviceGetMigMode(h)[0])
            devices.append({
                "index": index,
                "name": _safe(lambda h=handle: _text(pynvml.nvmlDeviceGetName(h))),
                "uuid": _safe(lambda h=handle: _text(pynvml.nvmlDeviceGetUUID(h))),
                "pci_bus_id": _safe(lambda h=handle: _text(pynvml.nvmlDeviceGetPciInfo(h).busId)),
                "memory_bytes": mem,
                "compute_capability": f"{cc[0]}.{cc[1]}" if cc else None,
                "power_limit_w": _safe(
                    lambda h=handle: pynvml.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0
                ),
                "sm_clock_mhz": _safe(
                    lambda h=handle: pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_SM)
                ),
                "sm_clock_max_mhz": _safe(
                    lambda h=handle: pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_SM)
                ),
                "mem_clock_mhz": _safe(
                    lambda h=handle: pynvml.nvmlDeviceGetClockInfo(h, pynvml.NVML_CLOCK_MEM)
                ),
                "mem_clock_max_mhz": _safe(
                    lambda h=handle: pynvml.nvmlDeviceGetMaxClockInfo(h, pynvml.NVML_CLOCK_MEM)
                ),
                "ecc_enabled": None if ecc is None else bool(ecc),
                "mig_enabled": None if mig is None else bool(mig),
                "persistence_mode": _safe(
                    lambda h=handle: bool(pynvml.nvmlDeviceGetPersistenceMode(h))
                ),
                "temperature_c": _safe(
                    lambda h=handle: pynvml.nvmlDeviceGetTemperature(h, pynvml.NVML_TEMPERATURE_GPU)
                ),
                "pcie_link": _safe(
                    lambda h=handle: {
                        "gen": pynvml.nvmlDeviceGetCurrPcieLinkGeneration(h),
                        "width": pynvml.nvmlDeviceGetCurrPcieLinkWidth(h),
                    }
                ),
            })
        return devices, driver, None
    finally:
        _safe(pynvml.nvmlShutdown)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def nvml_uuid(props: Any) -> str | None:
    """The NVML spelling (``GPU-<uuid>``) of a torch device's UUID, None where torch has none."""
    uuid = getattr(props, "uuid", None)
    if uuid is None:
        return None
    text = str(uuid)
    return text if text.startswith(("GPU-", "MIG-")) else f"GPU-{text}"


def _torch_devices() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Per-GPU facts torch knows that NVML doesn't (SM count, L2 size), and runtime versions."""
    try:
        import torch
    except ImportError:
        return [], {}
    runtime: dict[str, Any] = {"cuda_runtime": torch.version.cuda, "nccl": None}
    if torch.version.cuda:  # the NCCL a CUDA build carries is known without a GPU (login nodes)
        nccl = _safe(lambda: torch.cuda.nccl.version())
        runtime["nccl"] = ".".join(str(p) for p in nccl) if isinstance(nccl, tuple) else nccl
    if not torch.cuda.is_available():
        return [], runtime
    devices = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        devices.append({
            "index": index,
            "name": props.name,
            "uuid": _safe(lambda p=props: nvml_uuid(p)),
            "memory_bytes": props.total_memory,
            "sm_count": props.multi_processor_count,
            "l2_bytes": getattr(props, "L2_cache_size", None),
            "compute_capability": f"{props.major}.{props.minor}",
        })
    return devices, runtime


def merge_devices(nvml_devices: list[dict[str, Any]], torch_devices: list[dict[str, Any]],
                  visible: str | None) -> list[dict[str, Any]]:
    """One record per GPU this process can use, in CUDA's order, with NVML's facts merged in.

    CUDA numbers only the GPUs ``CUDA_VISIBLE_DEVICES`` lets through (and orders them fastest
    first unless ``CUDA_DEVICE_ORDER=PCI_BUS_ID``); NVML numbers every GPU of the node in PCI
    order. Under SLURM's one-GPU-per-task binding CUDA device 0 is often NVML device 3, so
    records are paired by UUID, never by position, unless torch can't say the UUID (an old
    build) and nothing renumbers (no ``CUDA_VISIBLE_DEVICES``, the same count). A GPU NVML sees that
    this process can't use is left out: the Run describes the GPUs that produced it. Without
    CUDA in torch (a login node, no torch) NVML's list is the whole answer.
    """
    if not torch_devices:
        return [dict(d) for d in nvml_devices]
    by_uuid = {d["uuid"]: d for d in nvml_devices if d.get("uuid")}
    positional = visible is None and len(nvml_devices) == len(torch_devices)
    merged = []
    for position, device in enumerate(torch_devices):
        record = dict(device)
        match = by_uuid.get(device.get("uuid") or "")
        if match is None and positional and not device.get("uuid"):
            match = nvml_devices[position]
        if match is not None:
            # NVML is authoritative for what both know (it sees the board, torch the context).
            record.update({k: v for k, v in match.items() if v is not None and k != "index"})
            record["nvml_index"] = match.get("index")
        record["index"] = device["index"]
        merged.append(record)
    return merged


def gpu_info() -> dict[str, Any]:
    nvml_devices, driver, nvml_reason = _nvml_devices()
    torch_devices, runtime = _torch_devices()
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    devices = merge_devices(nvml_devices, torch_devices, visible)
    return {
        "count": len(devices),
        "devices": devices,
        "driver": driver,
        "cuda_runtime": runtime.get("cuda_runtime"),
        "nccl": runtime.get("nccl"),
        "node_count": len(nvml_devices) if nvml_devices else len(devices),
        "cuda_visible_devices": visible,
        "nvml": nvml_reason is None and bool(nvml_devices),
        "nvml_unavailable_reason": nvml_reason,
        "nccl_env": {k: v for k, v in sorted(os.environ.items()) if k.startswith("NCCL_")},
    }


def fingerprint(environment: dict[str, Any]) -> str:
    """sha256 (first 16 hex digits) of the identity fields, in a fixed order."""
    identity = {field: identity_field(environment, field) for field in FINGERPRINT_FIELDS}
    blob = json.dumps(identity, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def capture() -> dict[str, Any]:
    """The full environment document, ``fingerprint`` included."""
    env: dict[str, Any] = {
        "host": host_info(),
        "software": software_info(),
        "gpu": gpu_info(),
    }
    env["fingerprint_fields"] = list(FINGERPRINT_FIELDS)
    env["fingerprint"] = fingerprint(env)
    return env
