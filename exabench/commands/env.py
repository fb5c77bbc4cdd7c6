"""``exabench env``: the environment fingerprint (GPUs, driver, CUDA, torch, NCCL, CPU, memory)."""

from __future__ import annotations

import json

import click

from exabench.bench.env import capture


@click.command("env")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the full environment document as JSON."
)
def command(as_json: bool) -> None:
    """Print the environment fingerprint of this machine.

    \b
    Examples:
      exabench env
      exabench env --json > env.json
    """
    env = capture()
    if as_json:
        click.echo(json.dumps(env, indent=2, sort_keys=True))
        return
    host, sw, gpu = env["host"], env["software"], env["gpu"]
    rows = [
        ("fingerprint", env["fingerprint"]),
        ("host", f"{host['hostname']} ({host['os']}, {host['machine']})"),
        ("cpu", f"{host['cpu_model']} x {host['cpu_cores']} cores"),
        ("memory", f"{host['memory_bytes'] / 1e9:.1f} GB" if host["memory_bytes"] else None),
        ("python", host["python"]),
        ("torch", sw["torch"] or "not installed"),
        ("cupy", sw["cupy"] or "not installed"),
        ("cuda runtime", gpu["cuda_runtime"]),
        ("driver", gpu["driver"]),
        ("nccl", gpu["nccl"]),
        ("gpus", str(gpu["count"]) + _node_note(gpu)
         + ("" if gpu["nvml"] else f"  ({gpu['nvml_unavailable_reason'] or 'no NVML'})")),
    ]
    for device in gpu["devices"]:
        rows.append((
            f"  gpu {device.get('index')}",
            f"{device.get('name')}  {(device.get('memory_bytes') or 0) / 2**30:.0f} GiB  cc"
            f" {device.get('compute_capability')}  SMs {device.get('sm_count')}  power limit"
            f" {device.get('power_limit_w')} W  SM clock"
            f" {device.get('sm_clock_mhz')}/{device.get('sm_clock_max_mhz')} MHz  ECC"
            f" {device.get('ecc_enabled')}  MIG {device.get('mig_enabled')}"
            + (
                f"  board {device['nvml_index']} {device.get('uuid')}"
                if device.get("nvml_index") is not None
                else ""
            ),
        ))
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        click.echo(f"{key:<{width}}  {value if value is not None else '-'}")


def _node_note(gpu: dict) -> str:
    """``of N on this node (CUDA_VISIBLE_DEVICES=...)`` when this process sees fewer GPUs than
    NVML."""
    node, visible = gpu.get("node_count"), gpu.get("cuda_visible_devices")
    if not node or node == gpu["count"]:
        return ""
    return f" of {node} on this node" + (
        f" (CUDA_VISIBLE_DEVICES={visible})" if visible is not None else ""
    )
