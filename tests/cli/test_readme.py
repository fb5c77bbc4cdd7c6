"""README.md and docs/*.md show what their commands print, and link only to files that ship.

Every example of the pages is a marked block (``docs/examples.py`` says how) that ``nox -s docs``
regenerates. Here each deterministic example (plan, scale, validate, infer, compare, history ...)
runs again and must print exactly its block; a timing example (a benchmark) must keep its table
heads, checked against a one-case run of the same benchmark. When one fails: ``nox -s docs``.
"""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("docs_examples", ROOT / "docs" / "examples.py")
assert _spec is not None and _spec.loader is not None
examples = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = examples  # dataclasses look their module up there
_spec.loader.exec_module(examples)

EXAMPLES = examples.examples(ROOT)
DETERMINISTIC = [e for e in EXAMPLES if not e.timing]
TIMING = [e for e in EXAMPLES if e.timing]

PROBES = {
    # The table heads of a benchmark do not depend on its sweep: one small case prints them.
    "exabench bench gemm": "exabench bench gemm --device cpu --sizes 64 --dtype fp32",
    "exabench bench memory": "exabench bench memory --device cpu --sizes 64KiB --kernels copy",
    "exabench bench collectives": (
        "exabench bench collectives --device cpu --nproc 2 --min-bytes 1KiB "
        "--max-bytes 1KiB --collectives all_reduce"
    ),
}
UNPROBED = {
    # Runs every suite and a plan (a minute on 2 cores); tests/cli/test_run.py checks its summary.
    "exabench run",
}
README_MAX_LINES = 300


def _name(example) -> str:
    return f"{example.page.name}: {example.spec}"


def _diff(page: str, now: str) -> str:
    lines = difflib.unified_diff(
        page.splitlines(), now.splitlines(), "in the page", "printed now", lineterm=""
    )
    return "\n".join(lines) + "\nrun `nox -s docs` (python docs/examples.py) and commit the pages"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    scratch = tmp_path_factory.mktemp("examples")
    examples.write_inputs(scratch)
    return scratch


def test_the_pages_hold_examples_of_every_kind() -> None:
    commands = {e.command.split()[1] for e in EXAMPLES}
    assert {"plan", "scale", "validate", "infer", "compare", "history", "bench", "run"} <= commands
    assert len(DETERMINISTIC) >= 8 and TIMING


@pytest.mark.parametrize("example", DETERMINISTIC, ids=_name)
def test_a_deterministic_example_prints_its_block(example, folder: Path) -> None:
    now = examples.output(example, folder)
    assert now == example.body, _diff(example.body, now)


def _probe(example) -> str | None:
    return next(
        (probe for prefix, probe in PROBES.items() if example.command.startswith(prefix)), None
    )


def test_every_timing_example_is_probed_or_known() -> None:
    for example in TIMING:
        assert _probe(example) or any(example.command.startswith(c) for c in UNPROBED), _name(
            example
        )


@pytest.mark.parametrize("example", [e for e in TIMING if _probe(e)], ids=_name)
def test_a_timing_example_keeps_its_table_heads(example, folder: Path) -> None:
    probe = examples.Example(page=example.page, spec=_probe(example), timing=True, body="")
    heads = examples.header(examples.output(probe, folder))
    assert heads and examples.header(example.body) == heads, _diff(
        "\n".join(examples.header(example.body)), "\n".join(heads)
    )


def test_the_readme_is_a_manual_not_a_book() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= README_MAX_LINES


@pytest.mark.parametrize("page", examples.pages(ROOT), ids=lambda p: p.name)
def test_every_link_of_a_page_points_at_a_file_that_ships(page: Path) -> None:
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
    local = [t for t in targets if "://" not in t]
    assert all((page.parent / t).exists() for t in local), [
        t for t in local if not (page.parent / t).exists()
    ]


# The design notes this project was written from: users don't have them, so nothing cites them.
NOTES = ("planner-models", "cost-power-reliability", "microbenchmarks", "regression-tracking",
         "style-anchors")
NOT_SHIPPED = re.compile("|".join(
    ["shared" + "/", r"\breference/[\w-]+\.md", "DESIGN" + r"\.md", rf"\b({'|'.join(NOTES)})\.md"]))
SHIPPED = ("bench", "workloads", "analysis", "reports", "exabench", "tests", "benchmarks",
           "examples", "docs", ".ci")
TEXT_SUFFIXES = {".py", ".toml", ".md", ".sh", ".yml", ".sbatch", ""}


def test_nothing_cites_a_file_that_does_not_ship() -> None:
    files = [ROOT / "README.md", ROOT / "noxfile.py", ROOT / "pyproject.toml"]
    files += [p for folder in SHIPPED for p in sorted((ROOT / folder).rglob("*"))
              if p.is_file() and p.suffix in TEXT_SUFFIXES and "__pycache__" not in p.parts]
    hits = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}" for path in files
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
            if NOT_SHIPPED.search(line)]
    assert not hits, "cite the primary source or a docs/ page instead:\n" + "\n".join(hits)
