"""Regenerate every example output in README.md and docs/*.md from the command that prints it.

Run: ``python docs/examples.py`` (or ``nox -s docs``); ``--check`` reports the blocks that differ
and rewrites nothing. ``tests/cli/test_readme.py`` runs the same commands and fails when a page
drifts from what the commands print.

An example is an HTML comment naming the command, then a fenced block holding its output::

    <!-- example: exabench validate | head 3 | tail 1 -->
    <!-- example (timing): exabench bench gemm --quick --device cpu -->

The block becomes ``$ COMMAND`` and what the command printed (stdout, and stderr when it
exits non-zero), trailing spaces stripped. ``| head N``, ``| tail N`` and ``| grep REGEX``
(Python syntax) cut the output, in order, as the shell filters of the same names would;
``| from REGEX`` keeps the lines from the first one that matches. A command that crashes (a
traceback) stops the script: an example never shows one.
``(timing)`` marks output that changes from run to run (benchmarks): it is regenerated here,
but the test compares only its header lines (:func:`header`).

Commands run in a scratch folder, without a GPU (``CUDA_VISIBLE_DEVICES=""``), where this script
first writes the synthetic inputs the examples name: ``base.json`` and ``new.json`` (two Runs of
the same GEMM sizes, the second 10 % slower) and ``history/`` (a series of Runs with two
planted steps). ``exabench`` runs as ``python -m exabench`` with this interpreter.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from exabench.testing.synthetic_runs import gemm_run, stepped_history

ROOT = Path(__file__).resolve().parent.parent
PAGES = ("README.md", "docs/*.md")
EXAMPLE = re.compile(
    r"<!-- example(?P<timing> \(timing\))?: (?P<spec>.+?) -->\n"
    r"(?P<fence>```[a-z]*\n)(?P<body>.*?)```",
    re.S,
)
TIMEOUT_S = 300
"""Ceiling on one command: the slowest (``exabench run --quick`` on a busy 2-core CPU) takes about a
minute."""


@dataclass(kw_only=True, frozen=True, slots=True)
class Example:
    """One marked example of a page: the command, its filters, and the block as the page has it."""

    page: Path
    spec: str
    timing: bool
    body: str

    @property
    def command(self) -> str:
        return self.spec.split(" | ")[0].strip()

    @property
    def filters(self) -> list[str]:
        return [f.strip() for f in self.spec.split(" | ")[1:]]


def pages(root: Path = ROOT) -> list[Path]:
    """README.md and every page under docs/ that holds examples."""
    return [path for pattern in PAGES for path in sorted(root.glob(pattern))]


def examples(root: Path = ROOT) -> list[Example]:
    """Every marked example of every page, in page order."""
    return [
        Example(page=page, spec=m["spec"], timing=bool(m["timing"]), body=m["body"])
        for page in pages(root)
        for m in EXAMPLE.finditer(page.read_text())
    ]


def write_inputs(folder: Path) -> None:
    """The synthetic Runs the compare and history examples read, from fixed seeds."""
    rng = np.random.default_rng(0)
    (folder / "base.json").write_text(json.dumps(gemm_run("base", rng, results=2, samples=20)))
    (folder / "new.json").write_text(
        json.dumps(
            gemm_run(
                "new", rng, results=2, samples=20, slowdown=1.10, created="2025-01-02T00:00:00Z"
            )
        )
    )
    history = folder / "history"
    history.mkdir(exist_ok=True)
    for doc in stepped_history(
        np.random.default_rng(1),
        runs=120,
        results=2,
        hours_apart=6,
        samples=20,
        steps={0: (50, 0.05), 1: (90, -0.04)},
        id_digits=3,
    ):
        (history / f"{doc['id']}.json").write_text(json.dumps(doc))


def _argv(command: str) -> list[str]:
    argv = shlex.split(command)
    if argv[0] == "exabench":
        return [sys.executable, "-m", "exabench", *argv[1:]]
    return argv


def _cut(text: str, filters: list[str]) -> str:
    lines = text.splitlines()
    for step in filters:
        name, _, arg = step.partition(" ")
        if name == "head":
            lines = lines[: int(arg)]
        elif name == "tail":
            lines = lines[-int(arg) :]
        elif name == "grep":
            lines = [line for line in lines if re.search(arg, line)]
        elif name == "from":
            first = next((i for i, line in enumerate(lines) if re.search(arg, line)), len(lines))
            lines = lines[first:]
        else:
            raise ValueError(
                f"unknown filter {step!r}: use head N, tail N, grep REGEX or from REGEX"
            )
    return "\n".join(lines)


def output(example: Example, folder: Path) -> str:
    """What the example's command prints now, cut by its filters, as the page's block holds it."""
    env = {
        **os.environ,
        "COLUMNS": "120",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "CUDA_VISIBLE_DEVICES": "",
    }
    done = subprocess.run(
        _argv(example.command),
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    text = done.stdout + (done.stderr if done.returncode else "")
    if "Traceback (most recent call last)" in text:
        raise RuntimeError(f"{example.command} crashed (exit {done.returncode}):\n{text[-3000:]}")
    cut = "\n".join(line.rstrip() for line in _cut(text, example.filters).splitlines())
    return f"$ {example.command}\n{cut}\n"


def header(block: str) -> list[str]:
    """The lines of a timing example that no measurement changes: the table heads (``# gemm``,
    ``#   name  dtype ...``, ``#   (us) ...``) and banners (``== exabench run ==``), that is the
    lines starting with ``#`` that hold no digit, and those starting with ``==``."""
    return [
        line
        for line in block.splitlines()
        if line.startswith("==") or (line.startswith("#") and not any(c.isdigit() for c in line))
    ]


def regenerate(check: bool = False, root: Path = ROOT) -> list[str]:
    """Rewrite every example block with what its command prints; the specs of those that changed."""
    changed = []
    with tempfile.TemporaryDirectory(prefix="exabench-examples-") as scratch:
        folder = Path(scratch)
        write_inputs(folder)
        for page in pages(root):
            text = page.read_text()

            def fresh(m: re.Match[str], page: Path = page) -> str:
                example = Example(
                    page=page, spec=m["spec"], timing=bool(m["timing"]), body=m["body"]
                )
                print(f"{page.relative_to(root)}: {example.spec}", file=sys.stderr)
                body = output(example, folder)
                if body != example.body:
                    changed.append(f"{page.relative_to(root)}: {example.spec}")
                return m.group(0)[: m.start("body") - m.start()] + body + "```"

            new = EXAMPLE.sub(fresh, text)
            if new != text and not check:
                page.write_text(new)
    return changed


def main() -> None:
    check = "--check" in sys.argv[1:]
    changed = regenerate(check=check)
    verb = "differ" if check else "rewritten"
    print(f"{len(changed)} example(s) {verb}" + "".join(f"\n  {c}" for c in changed))
    sys.exit(1 if check and changed else 0)


if __name__ == "__main__":
    main()
