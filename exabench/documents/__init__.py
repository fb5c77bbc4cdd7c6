"""What every versioned exabench document (Run, Plan) shares: the schema-version check and the
atomic file write. One place, so a Run and a Plan refuse an unknown version in the same words
and are written the same crash-safe way."""

from __future__ import annotations

import errno
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from exabench import __version__
from exabench.errors import UserError

# The Run and Plan documents, their types and readers: exabench.documents.run and .plan (each
# with its SCHEMA). The fleet summary, for its writer (bench.fleet) and its reader (reports):
FLEET_SCHEMA = "exabench.fleet/1"


def check_versioned(doc: Any, *, source: str, kind: str, schema: str,
                    required: Iterable[str]) -> dict[str, Any]:
    """Refuse what is not a ``kind`` document of exactly ``schema`` (e.g. ``exabench.run/1``),
    or lacks a required field, with a one-line UserError naming ``source``."""
    prefix = schema.rsplit("/", 1)[0] + "/"
    if not isinstance(doc, dict):
        raise UserError(f"{source}: not a {kind} document (expected a JSON object)")
    found = doc.get("schema")
    if not isinstance(found, str) or not found.startswith(prefix):
        raise UserError(f"{source}: not a {kind} document (schema {found!r}; expected {schema!r})")
    if found != schema:
        raise UserError(f"{source}: {kind} schema {found!r} is not supported by exabench "
                        f"{__version__}; "
                        f"it reads {schema!r} (upgrade exabench to read newer files)")
    missing = [f for f in required if f not in doc]
    if missing:
        raise UserError(f"{source}: {kind} document lacks {', '.join(missing)}")
    return doc


def read_json(path: str | os.PathLike[str], *, missing_hint: str = "") -> Any:
    """Parse a JSON file; every problem (absent, unreadable, not JSON, nested too deeply) is a
    one-line UserError naming the file. ``missing_hint`` says what to give instead."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file{missing_hint}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise UserError(f"{path}: cannot read ({error})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise UserError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
    except RecursionError:
        raise UserError(f"{path}: not valid JSON (nested too deeply)") from None


def write_hint(error: OSError) -> str:
    """What to do next, for the write failures a user can fix."""
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "; the previous file is intact: free space or write elsewhere (--out DIR)"
    if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return "; choose a folder you can write to (--out DIR)"
    return ""


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes | Iterable[bytes], *,
                       sync: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never half:
    a temporary file in the same folder, then a rename. ``sync`` also flushes the data and the
    rename to the disk (power-loss safe). A full disk or a permission problem becomes a
    one-line UserError and the previous file is left as it was. ``data`` may be an iterable of
    chunks, so a large document is never held twice in memory (the Run of a long sweep)."""
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}"
                        f"{write_hint(error)}") from None
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; results and reports are for everyone to read
        with os.fdopen(fd, "wb") as handle:
            for chunk in (data,) if isinstance(data, bytes) else data:
                handle.write(chunk)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise UserError(f"cannot write {path}: {error.strerror or error}"
                        f"{write_hint(error)}") from None
    if not sync:
        return
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def atomic_write_text(path: str | os.PathLike[str], text: str, *, sync: bool = True) -> None:
    """:func:`atomic_write_bytes` for text (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"), sync=sync)
