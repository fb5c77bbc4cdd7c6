"""``exabench infer``: inference capacity (prefill and decode throughput, KV cache, batch against
latency, GPUs for a request rate at a latency target) from the same hardware profiles."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from exabench.analysis.measured import load_profile
from exabench.analysis.serving.inference import Serving, capacity, default_tp
from exabench.errors import UserError
from exabench.workloads.clusters import MAX_GPUS
from exabench.workloads.models import ModelSpec, load_model
from exabench.workloads.profile import HardwareProfile


@click.command("infer")
@click.option("--model", required=True, help="Model name (see `exabench catalog`) or a model TOML.")
@click.option(
    "--hardware",
    default="h100-sxm",
    show_default=True,
    help="GPU profile name, hardware TOML or Run JSON.",
)
@click.option(
    "--tp",
    type=click.IntRange(min=1),
    default=None,
    help="GPUs per replica (default: the one that needs fewest GPUs).",
)
@click.option(
    "--gpus-per-node",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="NVLink domain size (TP limit).",
)
@click.option(
    "--precision",
    type=click.Choice(["bf16", "fp8"]),
    default="bf16",
    show_default=True,
    help="Weight precision.",
)
@click.option(
    "--prompt", type=int, default=2048, show_default=True, help="Prompt tokens per request."
)
@click.option(
    "--output", type=int, default=256, show_default=True, help="Generated tokens per request."
)
@click.option(
    "--rate", type=float, default=10.0, show_default=True, help="Requests per second to serve."
)
@click.option(
    "--tpot-ms",
    type=float,
    default=50.0,
    show_default=True,
    help="Latency target: time per output token, ms.",
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def command(
    model: str,
    hardware: str,
    tp: int | None,
    gpus_per_node: int,
    precision: str,
    prompt: int,
    output: int,
    rate: float,
    tpot_ms: float,
    fmt: str,
) -> None:
    """How many GPUs serve a request rate at a time-per-output-token target.

    Decode is bound by HBM (weights and KV cache read every step); prefill by the matmuls.
    Without --tp every TP that fits in the NVLink domain is tried and the fewest GPUs wins.

    \b
    Examples:
      exabench infer --model llama3-70b --rate 20 --tpot-ms 40
      exabench infer --model llama3-405b --precision fp8 --prompt 4096 --output 512 --format json
      exabench infer --model llama3-8b --hardware results/run.json --tp 1
    """
    positive = (("--prompt", prompt), ("--output", output), ("--rate", rate),
                ("--tpot-ms", tpot_ms))
    for name, value in positive:
        if not (value > 0 and math.isfinite(value)):
            raise UserError(f"{name} {value!r} is not valid; must be a finite number > 0")
    spec, profile = load_model(model), load_profile(hardware)
    t, best = _fewest_gpus(spec, profile, tp=tp, gpus_per_node=gpus_per_node, precision=precision,
                           prompt=prompt, output=output, rate=rate, tpot_ms=tpot_ms)
    s = Serving(model=spec, profile=profile, tp=t, precision=precision)
    doc: dict[str, Any] = {"model": spec.name, "hardware": profile.name, "precision": precision,
                           "tp": t, "prompt": prompt, "output": output, "rate": rate,
                           "tpot_ms_target": tpot_ms, "weights_gib": s.weight_bytes / 2**30,
                           "kv_bytes_per_token": s.kv_bytes_per_token(), **best}
    click.echo(json.dumps(doc, indent=2) if fmt == "json" else _table(doc))


def _fewest_gpus(spec: ModelSpec, profile: HardwareProfile, *, tp: int | None, gpus_per_node: int,
                 precision: str, prompt: int, output: int, rate: float,
                 tpot_ms: float) -> tuple[int, dict[str, Any]]:
    """The TP (given, or each that fits in the NVLink domain) whose replicas serve ``rate`` on
    the fewest GPUs, and its capacity."""
    if tp is not None:
        if tp > gpus_per_node or spec.heads % tp:
            raise UserError(f"--tp {tp} is not valid; must divide the {spec.heads} heads and be "
                            f"<= {gpus_per_node}")
        candidates = [tp]
    else:
        first = default_tp(spec, profile, gpus_per_node, prompt + output, precision)
        candidates = [t for t in (1, 2, 4, 8, 16, 32, 64, 72)
                      if first <= t <= gpus_per_node and spec.heads % t == 0]
    results, last_error = [], None
    for t in candidates:
        try:
            serving = Serving(model=spec, profile=profile, tp=t, precision=precision)
            results.append((t, capacity(serving, prompt=prompt, output=output, rate=rate,
                                        tpot_ms=tpot_ms)))
        except UserError as error:
            last_error = error
    if not results:
        raise last_error or UserError(f"{spec.name} cannot be served on {profile.name}")
    t, best = min(results, key=lambda r: (r[1]["gpus"], r[0]))
    if best["gpus"] > MAX_GPUS:
        raise UserError(f"--rate {rate:g} needs more than {MAX_GPUS:,} GPUs, the most exabench "
                        f"plans; one replica of {t} GPUs serves "
                        f"{best['requests_per_s_per_replica']:.3g} requests/s")
    return t, best


def _table(doc: dict[str, Any]) -> str:
    lines = [f"exabench infer: {doc['model']} on {doc['hardware']} ({doc['precision']} weights "
             f"{doc['weights_gib']:.0f} GiB), TP {doc['tp']} per replica",
             f"  KV cache     {doc['kv_bytes_per_token'] / 1024:.0f} KiB per token; "
             f"{doc['prompt']}+{doc['output']} tokens per request",
             f"  prefill      {doc['prefill_tokens_per_s_per_gpu']:,.0f} tokens/s/GPU, "
             f"TTFT {doc['ttft_ms']:.0f} ms",
             f"  {'batch':>7} {'TPOT (ms)':>10} {'decode tok/s/GPU':>17} {'KV GiB':>8}  bound"]
    for r in doc["table"]:
        lines.append(f"  {r['batch']:>7} {r['tpot_ms']:>10.1f} "
                     f"{r['decode_tokens_per_s_per_gpu']:>17,.0f} {r['kv_gib']:>8.1f}  "
                     f"{r['bound']}")
    lines.append(f"  capacity     batch {doc['batch']} meets TPOT {doc['tpot_ms_target']:g} ms "
                 f"({doc['tpot_ms']:.1f}); {doc['requests_per_s_per_replica']:.2f} requests/s per "
                 f"replica -> {doc['replicas']} replicas = {doc['gpus']} GPUs for "
                 f"{doc['rate']:g} requests/s")
    return "\n".join(lines)
