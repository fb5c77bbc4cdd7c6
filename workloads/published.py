"""Published training runs the planner is validated against: ``workloads/published/*.toml``.

Each file names its ``source``, the ``hardware`` and ``cluster`` of the runs, the ``metric``
the source publishes (``step_time_s``, ``hw_tflops_per_gpu`` = Megatron's 96-factor count,
``model_tflops_per_gpu``, ``mfu``, ``tokens_per_s_per_gpu``), optionally ``derivation`` (how
the rows were read or derived) and ``group`` (the independent source, for leave-one-source-out;
default: the file's name), ``[defaults]`` for the run settings, and ``[[runs]]`` with
an ``id``, a ``model``, ``gpus``, the layout the source states and the ``published`` value.
Layout fields a source doesn't state are left out: the planner chooses them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exabench.errors import UserError, one_of
from exabench.workloads.frameworks import KNOBS, PER_LAYER, check_knob
from exabench.workloads.tomlfile import DATA_DIR, read_toml

METRICS = ("step_time_s", "hw_tflops_per_gpu", "model_tflops_per_gpu", "mfu",
           "tokens_per_s_per_gpu")
LAYOUT_KEYS = {
    "tp",
    "pp",
    "vp",
    "cp",
    "ep",
    "dp",
    "zero",
    "mbs",
    "global_batch",
    "seq",
    "precision",
    "recompute",
    "sequence_parallel",
    "flash_attention",
    "overlap_dp",
    "grad_reduce_bytes",
    "framework",
    "tp_comm_overlap",
    "pp_comm_overlap",
    "cp_comm_overlap",
    "ep_comm_overlap",
    "cuda_graphs",
    "attention_kernel",
    "fused_elementwise",
    "fsdp_prefetch",
    "dp_bucket_mb",
    "moe_capacity_factor",
    "moe_imbalance",
}
RUN_KEYS = LAYOUT_KEYS | {"id", "model", "gpus", "published", "metric", "note"}
FILE_KEYS = {"source", "hardware", "cluster", "metric", "defaults", "runs", "derivation", "group"}


@dataclass(kw_only=True, frozen=True)
class PublishedRun:
    id: str
    source: str
    model: str
    hardware: str
    cluster: str
    gpus: int
    metric: str
    published: float
    group: str = ""
    """The independent source the run belongs to (leave-one-source-out holds a group out
    whole); by default the file's name."""
    settings: dict[str, Any] = field(default_factory=dict)
    """Layout and framework settings the source states (Layout field names)."""


def parse_published(doc: dict[str, Any], where: str, group: str = "") -> list[PublishedRun]:
    bad = sorted(set(doc) - FILE_KEYS)
    if bad:
        raise UserError(f"{where}: unknown key {bad[0]!r}; valid: {', '.join(sorted(FILE_KEYS))}")
    defaults = doc.get("defaults", {})
    runs = []
    for i, run in enumerate(doc.get("runs", [])):
        merged = {**defaults, **run}
        unknown = sorted(set(merged) - RUN_KEYS)
        if unknown:
            raise UserError(
                f"{where}: run {i}: unknown key {unknown[0]!r}; valid:"
                f" {', '.join(sorted(RUN_KEYS))}"
            )
        metric = merged.pop("metric", doc.get("metric"))
        if metric not in METRICS:
            raise UserError(f"{where}: run {i}: {one_of(metric, METRICS, name='metric')}")
        try:
            runs.append(
                PublishedRun(
                    id=str(merged.pop("id")),
                    source=str(doc["source"]),
                    group=str(doc.get("group") or group),
                    model=str(merged.pop("model")),
                    hardware=str(doc["hardware"]),
                    cluster=str(doc["cluster"]),
                    gpus=int(merged.pop("gpus")),
                    metric=metric,
                    published=float(merged.pop("published")),
                    settings={k: _setting(f"{where}: run {i}", k, v)
                              for k, v in merged.items() if k != "note"},
                )
            )
        except KeyError as error:
            raise UserError(f"{where}: run {i}: missing {error.args[0]!r}") from None
    return runs


def _setting(where: str, key: str, value: Any) -> Any:
    """A framework knob checked as the presets check it (``"layer"`` buckets as 0: one layer);
    other layout fields are checked by the planner when it lays the run out."""
    if key not in KNOBS or key in ("zero", "recompute"):
        return value
    value = check_knob(where, key, value)
    return 0.0 if value == PER_LAYER else value


def load_published() -> list[PublishedRun]:
    """Every published run that ships, file by file in name order."""
    runs: list[PublishedRun] = []
    for path in sorted((DATA_DIR / "published").glob("*.toml")):
        runs += parse_published(read_toml(path), str(path), group=path.stem)
    return runs
