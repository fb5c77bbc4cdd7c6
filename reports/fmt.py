"""Numbers as a reader wants them: units always, three significant figures, thousands separated.

Three significant figures because no input to a plan is known better than that, and a
measured median rarely repeats beyond it; more digits would claim a precision nobody has.
"""

from __future__ import annotations

import math
from typing import Any

MISSING = "–"


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # 10^400 in a JSON file
        return None
    return number if math.isfinite(number) else None


def sig(value: Any, digits: int = 3) -> str:
    """``value`` to ``digits`` significant figures, with thousands separators, no exponent
    below 1e15 (a cluster's FLOP count is the only thing that large)."""
    number = _finite(value)
    if number is None:
        return MISSING
    if number == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(number)))
    if magnitude >= 15 or magnitude < -4:
        return f"{number:.{digits - 1}e}"
    rounded = round(number, digits - 1 - magnitude)  # negative: 1234.5 -> 1230
    return f"{rounded:,.{max(digits - 1 - magnitude, 0)}f}"


def num(value: Any, unit: str = "", digits: int = 3) -> str:
    """``1,230 GB/s``: a number with its unit, or a dash when it is absent."""
    text = sig(value, digits)
    if text == MISSING or not unit:
        return text
    return f"{text} {unit}"


def pct(fraction: Any, digits: int = 3) -> str:
    """A fraction (0.43) as a percentage (``43.0 %``)."""
    number = _finite(fraction)
    return MISSING if number is None else num(100 * number, "%", digits)


def usd(value: Any) -> str:
    """Dollars with a scale word: ``$1.23 B``, ``$456 M``, ``$7,890``."""
    number = _finite(value)
    if number is None:
        return MISSING
    for scale, word in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(number) >= scale:
            return f"${sig(number / scale)} {word}"
    return f"${sig(number)}"


def count(value: Any) -> str:
    """Whole numbers (GPUs, tokens) with scale words above a million: ``100,000``, ``15.0 T``."""
    number = _finite(value)
    if number is None:
        return MISSING
    for scale, word in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(number) >= scale:
            return f"{sig(number / scale)} {word}"
    return f"{round(number):,}"


def duration(seconds: Any) -> str:
    """Seconds in the unit a person would use: ``812 µs``, ``1.52 s``, ``3.4 h``, ``51.2 days``."""
    number = _finite(seconds)
    if number is None:
        return MISSING
    if abs(number) < 1e-3:
        return num(number * 1e6, "µs")
    if abs(number) < 1:
        return num(number * 1e3, "ms")
    if abs(number) < 120:
        return num(number, "s")
    if abs(number) < 2 * 3600:
        return num(number / 60, "min")
    if abs(number) < 2 * 86400:
        return num(number / 3600, "h")
    return num(number / 86400, "days")


def si(value: Any, unit: str = "") -> str:
    """SI prefixes: counts as ``1.41T`` tokens, ``405B`` parameters, ``345k`` GPU-hours; with a
    unit, a space and the unit's prefix: ``988 GB``, ``5.68 TB``, ``12 B``."""
    number = _finite(value)
    if number is None:
        return MISSING
    prefixes = ("P", "T", "B", "M", "k") if not unit else (" P", " T", " G", " M", " k")
    for scale, prefix in zip((1e15, 1e12, 1e9, 1e6, 1e3), prefixes, strict=True):
        if abs(number) >= scale:
            return f"{sig(number / scale)}{prefix}{unit}"
    return f"{sig(number)} {unit}" if unit else sig(number)


def nbytes(value: Any) -> str:
    """A byte count in binary units (``64 KiB``, ``1.00 GiB``): message and array sizes are
    powers of two, so binary units give round labels."""
    number = _finite(value)
    if number is None:
        return MISSING
    for scale, word in ((2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if abs(number) >= scale:
            return num(number / scale, word)
    return f"{round(number):,} B"
