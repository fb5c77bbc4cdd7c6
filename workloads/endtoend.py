"""Published end-to-end training runs (GPU-hours) shipped in ``workloads/endtoend/*.toml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from exabench.errors import UserError
from exabench.workloads.tomlfile import DATA_DIR, read_toml

KEYS = {
    "id",
    "model",
    "cluster",
    "gpus",
    "tokens",
    "published_gpu_hours",
    "tolerance",
    "options",
    "source",
    "note",
}


@dataclass(kw_only=True, frozen=True)
class EndToEndRun:
    id: str
    model: str
    cluster: str
    gpus: int
    tokens: float
    published_gpu_hours: float
    tolerance: float
    """Accepted |error| of the planner's GPU-hours (how comparable the published figure is)."""
    options: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    note: str = ""


def load_endtoend() -> list[EndToEndRun]:
    runs = []
    for path in sorted((DATA_DIR / "endtoend").glob("*.toml")):
        for i, row in enumerate(read_toml(path).get("runs", [])):
            bad = sorted(set(row) - KEYS)
            if bad:
                raise UserError(
                    f"{path}: run {i}: unknown key {bad[0]!r}; valid: {', '.join(sorted(KEYS))}"
                )
            try:
                runs.append(
                    EndToEndRun(**{
                        **row,
                        "gpus": int(row["gpus"]),
                        "tokens": float(row["tokens"]),
                        "published_gpu_hours": float(row["published_gpu_hours"]),
                    })
                )
            except (KeyError, TypeError) as error:
                raise UserError(f"{path}: run {i}: {error}") from None
    return runs
