"""nccl-tests-style text tables: a row of names, a row of units, fixed widths, a correctness
column and a footer. Each suite declares its columns; the same rows go to JSON via the Run."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TextIO


@dataclass(frozen=True)
class Column:
    name: str
    unit: str
    get: Callable[[dict[str, Any]], Any]
    fmt: str = "{}"
    width: int = 10

    def cell(self, result: dict[str, Any]) -> str:
        try:
            value = self.get(result)
        except (KeyError, TypeError, IndexError):
            value = None
        if value is None:
            return "-"
        try:
            return self.fmt.format(value)
        except (ValueError, TypeError):
            return str(value)


def _param(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda r: r["params"].get(key)


def _metric(key: str) -> Callable[[dict[str, Any]], Any]:
    return lambda r: r["metrics"].get(key)


def _median_us(result: dict[str, Any]) -> float | None:
    median = result["stats"]["median"]
    return None if median is None else median * 1e6


def _cv_pct(result: dict[str, Any]) -> float | None:
    cv = result["stats"]["cv"]
    return None if cv is None else 100 * cv


def status_cell(result: dict[str, Any]) -> str:
    """OK / WRONG / FAILED / skip, plus THROTTLED when telemetry saw a throttle reason."""
    status = result["status"]
    if status == "skipped":
        text = "skip"
    elif status == "failed":
        text = "WRONG" if (result.get("error") or "").startswith("wrong result") else "FAILED"
    else:
        text = "OK"
    if (result.get("telemetry") or {}).get("throttled"):
        text += " THROTTLED"
    return text


TIME = Column("time", "(us)", _median_us, "{:.2f}", 11)
CV = Column("cv", "(%)", _cv_pct, "{:.1f}", 6)
CHECK = Column("check", "", status_cell, "{}", 13)

def _pass(index: int, get: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """A cell of one pass (0 out-of-place, 1 in-place) of a paired collectives row; None when
    torch.distributed has no such pass for the collective."""
    def cell(row: dict[str, Any]) -> Any:
        result = row["passes"][index]
        if result is None:
            return None
        return get(result) if result["status"] == "ok" or result["metrics"] else status_cell(result)
    return cell


def _collective_passes() -> list[Column]:
    cols = []
    for index in (0, 1):
        cols += [Column("time", "(us)", _pass(index, _median_us), "{:.2f}", 10),
                 Column("algbw", "(GB/s)", _pass(index, _metric("algbw_gbps")), "{:.2f}", 7),
                 Column("busbw", "(GB/s)", _pass(index, _metric("busbw_gbps")), "{:.2f}", 7),
                 Column("#wrong", "", _pass(index, _metric("wrong")), "{}", 6)]
    return cols


# nccl-tests' columns: one row per size, the out-of-place pass then the in-place pass.
COLLECTIVE_COLUMNS = [
    Column("collective", "", lambda r: r["name"], "{}", 15),
    Column("size", "(B)", _param("bytes"), "{}", 12),
    Column("count", "(elements)", _param("count"), "{}", 12),
    Column("type", "", _param("dtype"), "{}", 5),
    Column("redop", "", lambda r: r["params"].get("op") or "none", "{}", 5),
    Column(
        "root",
        "",
        lambda r: -1 if r["params"].get("root") is None else r["params"]["root"],
        "{}",
        4,
    ),
    *_collective_passes(),
]
PAIRED = {"collectives": "inplace"}
"""Suites whose results come in two passes printed side by side: suite -> the boolean param."""

SUITE_COLUMNS: dict[str, list[Column]] = {
    "collectives": COLLECTIVE_COLUMNS,
    "gemm": [
        Column("name", "", lambda r: r["name"], "{}", 22),
        Column("dtype", "", _param("dtype"), "{}", 6),
        Column("backend", "", _param("backend"), "{}", 7),
        Column("m", "", _param("m"), "{}", 7),
        Column("n", "", _param("n"), "{}", 7),
        Column("k", "", _param("k"), "{}", 7),
        TIME,
        Column("tflops", "(TFLOP/s)", _metric("tflops"), "{:.2f}", 10),
        Column("peak", "(%)", _metric("pct_of_peak"), "{:.1f}", 6),
        CV,
        CHECK,
    ],
    "memory": [
        Column("name", "", lambda r: r["name"], "{}", 20),
        Column("bytes", "(B)", _param("bytes"), "{}", 11),
        Column("dtype", "", _param("dtype"), "{}", 5),
        Column("backend", "", _param("backend"), "{}", 7),
        Column("dir", "", _param("direction"), "{}", 4),
        TIME,
        Column("gbps", "(GB/s)", _metric("gbps"), "{:.1f}", 9),
        Column("peak", "(%)", _metric("pct_of_peak"), "{:.1f}", 6),
        CV,
        CHECK,
    ],
}
GENERIC_COLUMNS = [Column("suite", "", lambda r: r["suite"], "{}", 12),
                   Column("name", "", lambda r: r["name"], "{}", 24), TIME, CV, CHECK]


def columns_for(suite: str) -> list[Column]:
    return SUITE_COLUMNS.get(suite, GENERIC_COLUMNS)


def _line(cells: Iterable[tuple[str, int]]) -> str:
    return " ".join(f"{text:>{width}}" for text, width in cells).rstrip()


class TablePrinter:
    """Prints a header when the suite changes, then one row per result as it finishes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.suite: str | None = None
        self.pending: dict[str, Any] | None = None

    def header(self, suite: str) -> None:
        cols = columns_for(suite)
        print(f"# {suite}", file=self.stream)
        if suite in PAIRED:  # nccl-tests' line over the two passes
            key = sum(c.width + 1 for c in cols[:-8])
            half = sum(c.width + 1 for c in cols[-4:])
            print(
                "#" + " " * (key - 1) + f"{'out-of-place':>{half}}{'in-place':>{half}}",
                file=self.stream,
            )
        print("#" + _line((c.name, c.width) for c in cols)[1:], file=self.stream)
        print("#" + _line((c.unit, c.width) for c in cols)[1:], file=self.stream)
        self.suite = suite

    def row(self, result: dict[str, Any]) -> None:
        flag = PAIRED.get(result["suite"])
        if flag is None:
            self.finish()
            self._print(result, [result])
            return
        key = {k: v for k, v in result["params"].items() if k != flag}
        pending = self.pending
        if pending is not None and (not result["params"].get(flag) or key != pending["key"]):
            self.finish()
            pending = None
        if not result["params"].get(flag):  # the first pass: wait for its partner
            self.pending = {"key": key, "result": result}
            return
        self.pending = None
        self._paired(pending["result"] if pending else None, result)

    def finish(self) -> None:
        """Print a first pass still waiting for its partner (call after the last result)."""
        if self.pending is not None:
            first, self.pending = self.pending["result"], None
            self._paired(first, None)

    def _paired(self, first: dict[str, Any] | None, second: dict[str, Any] | None) -> None:
        any_pass = first or second
        row = {"suite": any_pass["suite"], "name": any_pass["name"], "params": any_pass["params"],
               "passes": [first, second], "status": "ok"}
        self._print(row, [r for r in (first, second) if r is not None])

    def _print(self, row: dict[str, Any], results: list[dict[str, Any]]) -> None:
        if row["suite"] != self.suite:
            self.header(row["suite"])
        cols = columns_for(row["suite"])
        print(" " + _line((c.cell(row), c.width) for c in cols)[1:], file=self.stream)
        for result in results:
            if result["status"] != "ok" and result.get("error"):
                print(f"#   {result['name']}: {result['error']}", file=self.stream)
        self.stream.flush()


def footer(results: list[dict[str, Any]], path: str) -> str:
    ok = sum(r["status"] == "ok" for r in results)
    failed = sum(r["status"] == "failed" for r in results)
    skipped = sum(r["status"] == "skipped" for r in results)
    wrong = sum((r.get("error") or "").startswith("wrong result") for r in results)
    verdict = "OK" if failed == 0 else "FAILED"
    return (f"# Results: {ok} ok, {failed} failed ({wrong} wrong), {skipped} skipped : {verdict}\n"
            f"# Run written to {path}")
