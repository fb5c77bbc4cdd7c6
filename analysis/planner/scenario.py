"""The default scenario of ``exabench run``: a Llama-3-405B-scale pre-training run (15.6T
tokens, Llama 3's budget) on ``colossus-100k``, planned on this machine's Run when it was
measured on an H100-class GPU, else on the H100 SXM Runs that ship in ``workloads/measured/``
(``h100-sxm-measured``), else on the reference ``h100-sxm`` profile, and saying which.

GPUs: 98,304 (96 x 1,024), the largest count at or under 100,000 that a layout with a
power-of-two batch and 126 layers can use (100,000 = 2^5 x 5^5 leaves no data-parallel degree
that divides the batch). Batch: 3,072 sequences of 8,192 tokens (25M tokens): Llama 3's 16M
at 16k GPUs leaves only 32-way data parallelism at 98k GPUs and a deep pipeline bubble.
"""

from __future__ import annotations

from typing import Any

from exabench.analysis.measured import load_measured, profile_from_run
from exabench.analysis.planner.layout import LayoutRequest
from exabench.analysis.planner.plan import build_plan
from exabench.analysis.planner.step import Context
from exabench.errors import UserError
from exabench.workloads.clusters import load_cluster
from exabench.workloads.models import load_model
from exabench.workloads.profile import (
    MEASURED_SUFFIX,
    HardwareProfile,
    load_reference,
    run_device_name,
)

MODEL = "llama3-405b"
CLUSTER = "colossus-100k"
TOKENS = 15.6e12
GPUS = 98_304
GLOBAL_BATCH = 3_072
H100_CLASS = ("h100-sxm", "h100-pcie", "h200-sxm")
REFERENCE = "h100-sxm"


def _fallback(why: str, **extra: str) -> tuple[HardwareProfile, dict[str, str]]:
    """This machine's Run can't stand for an H100: the H100 SXM Runs that ship with exabench
    (``workloads/measured/``) when there are any, else the published reference curves."""
    try:
        profile = load_measured(REFERENCE)
    except UserError:  # no H100 SXM Run ships yet
        return load_reference(REFERENCE), {
            "basis": "reference",
            "profile": REFERENCE,
            **extra,
            "why": f"{why}: the reference H100 SXM profile (published curves) is used",
        }
    return profile, {
        "basis": "shipped-measured",
        "profile": f"{REFERENCE}{MEASURED_SUFFIX}",
        **extra,
        "why": (
            f"{why}: the H100 SXM Runs that ship with exabench ({profile.run_id}, "
            "workloads/measured/) are used"
        ),
    }


def scenario_profile(run_doc: dict[str, Any] | None) -> tuple[HardwareProfile, dict[str, str]]:
    """The profile to plan on and a plain statement of which and why."""
    if not run_doc:
        return _fallback("no Run given")
    profile = profile_from_run(run_doc, default=REFERENCE)
    run_id = str(run_doc.get("id", "?"))
    measured = any(v.get("kind") == "measured" for v in profile.provenance.values())
    if profile.name in H100_CLASS and measured:
        return profile, {
            "basis": "measured",
            "profile": profile.name,
            "run_id": run_id,
            "why": (
                f"Run {run_id} was measured on an H100-class GPU ({profile.name}): its GEMM, HBM"
                " and NVLink measurements replace the reference curves where it has them"
            ),
        }
    device = run_device_name(run_doc)
    return _fallback(
        f"Run {run_id} was measured on {device or 'a machine without a GPU'}, not an H100-class"
        " GPU, so not this machine's numbers",
        run_id=run_id,
    )


def default_scenario_plan(run_doc: dict[str, Any] | None) -> dict[str, Any]:
    """The Plan of the default scenario (schema exabench.plan/1) with ``inputs.scenario``."""
    profile, basis = scenario_profile(run_doc)
    ctx = Context(load_model(MODEL), profile, load_cluster(CLUSTER))
    if basis["basis"] == "measured":
        # The power model reads the measured GPU power from the Run.
        ctx.run_doc = run_doc  # type: ignore[attr-defined]
    [plan] = build_plan(context=ctx, gpus=GPUS, tokens=TOKENS,
                        request=LayoutRequest(precision="bf16", global_batch=GLOBAL_BATCH))
    plan["inputs"]["scenario"] = {
        "name": "Llama-3-405B-scale pre-training on colossus-100k",
        "model": MODEL,
        "cluster": CLUSTER,
        "tokens": TOKENS,
        "tokens_source": "Llama 3: 15.6T tokens (Dubey et al. 2024)",
        "gpus": GPUS,
        "gpus_why": (
            "98,304 = 96 x 1,024: the largest count <= 100,000 a power-of-two batch can divide"
        ),
        "global_batch": GLOBAL_BATCH,
        "global_batch_why": "25M tokens per step (assumed; Llama 3 used 16M at 16k GPUs)",
        **basis,
    }
    return plan
