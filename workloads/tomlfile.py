"""Reading TOML specs: one place that turns every file problem into a one-line UserError."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from exabench.errors import UserError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DATA_DIR = Path(__file__).resolve().parent


def read_toml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise UserError(
            f"{path}: no such file; check the path (exabench catalog lists the shipped names)"
        ) from None
    except OSError as error:
        raise UserError(f"{path}: cannot read ({error.strerror or error})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: not valid TOML ({error})") from None


def shipped_names(kind: str) -> list[str]:
    """Names of the specs that ship in ``workloads/<kind>/`` (file stems, sorted)."""
    return sorted(p.stem for p in (DATA_DIR / kind).glob("*.toml"))


def _exists(path: Path, *, file: bool = False) -> bool:
    """``path.exists()`` (``is_file()``), False for a name the OS can't even look up (too long,
    a NUL byte), which pathlib raises for instead."""
    try:
        return path.is_file() if file else path.exists()
    except (OSError, ValueError):
        return False


def resolve_spec(kind: str, name_or_path: str) -> Path:
    """A shipped spec by name (``h100-sxm``) or a TOML file by path; a clear error otherwise."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or _exists(candidate):
        if not _exists(candidate, file=True):
            raise UserError(
                f"{name_or_path}: no such {kind} file; shipped {kind}:"
                f" {', '.join(shipped_names(kind))}"
            )
        return candidate
    shipped = DATA_DIR / kind / f"{name_or_path}.toml"
    if _exists(shipped, file=True):
        return shipped
    raise UserError(
        f"unknown {kind} {name_or_path!r}; shipped: {', '.join(shipped_names(kind))} (or a path to"
        " a .toml file)"
    )
