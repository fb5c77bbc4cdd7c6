"""Bad input, property-based: every file and option a user can hand exabench, mangled by
hypothesis, must end in a result or in exit 2 with one line on stderr, never a traceback.

Targets: model, cluster and hardware TOML (shipped specs with one field replaced, removed or
added; truncated; random bytes), Run and Plan JSON (real documents mutated at a random path,
truncated, unknown schema versions, NaN/Infinity literals, huge numbers, unicode names) and the
options of every command (values drawn from a pool of nasty ones: empty, negative, huge, nan,
inf, unicode, paths that are missing, folders or of the wrong kind).

The CLI runs in-process through ``exabench.cli.main`` (SystemExit caught) so thousands of
cases stay fast. ``test_bad_input[quick]`` runs 1,249 cases (~30 s on 2 cores); the ``slow``
variant runs 10,000 (~190 s; ``pytest -m slow tests/cli/test_bad_input.py -s`` prints the counts).
Measuring is stubbed out for ``bench``: what is checked is option and file handling.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import time
from pathlib import Path
from typing import Any

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exabench.cli import cli, main
from exabench.workloads.tomlfile import DATA_DIR, read_toml

FULL = {"model": 2600, "cluster": 1200, "hardware": 1200, "run": 1600, "plan": 600, "options": 2800}
QUICK_DIVISOR = 8
COUNTS: dict[str, int] = {}


def cli_run(args: list[str]) -> tuple[int, str, str]:
    """The CLI in-process; any exception other than SystemExit is a traceback a user would see."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else 1
    return code, out.getvalue(), err.getvalue()


def assert_clean(args: list[str], *, must_fail: bool = False) -> int:
    code, _out, err = cli_run(args)
    assert code in (0, 1, 2, 3), (args, code, err)
    if code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1, (args, err)
        assert "Traceback" not in err
    if must_fail:
        assert code == 2, (args, code, err)
    return code


# --- values -------------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
NASTY_NUMBERS = st.sampled_from([0, -1, -(2**63), 2**63, 10**30, 10**400, 0.5, -0.0, 1e-320, 1e308,
                                 math.nan, math.inf, -math.inf])
NASTY_TEXT = st.sampled_from(["", "ünïcødé 模型 🚀", "h100-sxm", "gelu", "../../etc/passwd"])
SCALARS = st.one_of(
    NASTY_NUMBERS, st.integers(-(2**70), 2**70), st.floats(), st.booleans(), TEXT, NASTY_TEXT
)
VALUES = st.one_of(
    SCALARS, st.lists(SCALARS, max_size=3), st.dictionaries(TEXT, SCALARS, max_size=2)
)


# --- TOML ---------------------------------------------------------------------------------------

def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return (
        "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    )


def to_toml(doc: dict[str, Any]) -> str:
    lines = [
        f"{json.dumps(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)
    ]
    for key, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{json.dumps(key)}]")
            lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


@st.composite
def mutated(draw, doc: Any) -> Any:
    """``doc`` with one value replaced, removed or one unknown key added, at a random depth."""
    doc = json.loads(json.dumps(doc))
    node = doc
    while True:
        keys = (
            list(node)
            if isinstance(node, dict)
            else list(range(len(node))) if isinstance(node, list) else []
        )
        if not keys:
            return draw(VALUES)
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, (dict, list)) and child and draw(st.booleans()):
            node = child
            continue
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if action == "replace":
            node[key] = draw(VALUES)
        elif action == "delete":
            node.pop(key)
        elif isinstance(node, dict):
            node[draw(TEXT) or "unknown"] = draw(VALUES)
        else:
            node.append(draw(VALUES))
        return doc


@st.composite
def mangled_text(draw, text: str) -> str:
    """Truncated, with random bytes spliced in, or a random unicode string."""
    how = draw(st.sampled_from(["truncate", "splice", "random"]))
    if how == "truncate":
        return text[: draw(st.integers(0, max(0, len(text) - 1)))]
    if how == "splice":
        at = draw(st.integers(0, len(text)))
        return text[:at] + draw(st.text(max_size=8)) + text[at:]
    return draw(st.text(max_size=200))


def toml_cases(kind: str) -> st.SearchStrategy[str]:
    docs = [read_toml(p) for p in sorted((DATA_DIR / kind).glob("*.toml"))]
    structural = st.sampled_from(docs).flatmap(mutated).map(to_toml)
    raw = st.sampled_from(docs).map(to_toml).flatmap(mangled_text)
    return st.one_of(structural, structural, raw)


PLAN_FIXED = [
    "--gpus",
    "8",
    "--tp",
    "8",
    "--pp",
    "1",
    "--vp",
    "1",
    "--cp",
    "1",
    "--ep",
    "1",
    "--dp",
    "1",
    "--mbs",
    "1",
    "--zero",
    "1",
    "--recompute",
    "none",
]
TOML_COMMANDS = {
    "model": lambda f: ["plan", "--model", f, *PLAN_FIXED, "--format", "json"],
    "cluster": lambda f: [
        "plan",
        "--model",
        "llama3-8b",
        "--cluster",
        f,
        *PLAN_FIXED,
        "--format",
        "json",
    ],
    "hardware": lambda f: [
        "plan",
        "--model",
        "llama3-8b",
        "--hardware",
        f,
        *PLAN_FIXED,
        "--format",
        "json",
    ],
}


# --- JSON documents -----------------------------------------------------------------------------

def _small_run(folder: Path) -> Path:
    from exabench.bench.writer import RunWriter
    from exabench.documents.run import make_result

    writer = RunWriter(
        folder,
        {"fingerprint": "fp", "host": {"hostname": "h"}},
        {"suites": ["gemm"], "quick": True},
    )
    for m in (256, 512):
        writer.add(
            make_result(
                suite="gemm",
                name="gemm_fp32",
                params={"m": m, "n": m, "k": m, "dtype": "fp32"},
                samples=[1e-3 * (1 + i / 10) for i in range(6)],
                metrics={"tflops": 1.0, "pct_of_peak": None},
            )
        )
    writer.add(make_result(suite="memory", name="copy", params={"kernel": "copy", "bytes": 1 << 20},
                           samples=[1e-4] * 5, metrics={"gbps": 20.0}))
    writer.close()
    return writer.path


def json_text(doc: Any) -> st.SearchStrategy[str]:
    text = json.dumps(doc)
    structural = mutated(doc).map(json.dumps)  # NaN/Infinity literals and 1e400 ints pass through
    versions = st.sampled_from(
        ["exabench.run/0", "exabench.run/2", "exabench.plan/2", "exabench.run/1 ", None, 7]
    )
    reversioned = versions.map(lambda v: json.dumps({**doc, "schema": v}))
    return st.one_of(structural, structural, structural, reversioned, mangled_text(text))


def run_commands(path: str, folder: str) -> list[list[str]]:
    return [["compare", path, path, "--format", "json"],
            ["export", path, "--format", "pytest-benchmark", "--out", f"{folder}/bm.json"],
            ["export", path, "--format", "bencher"],
            ["history", folder, "--format", "json", "--permutations", "9"],
            ["plan", "--model", "llama3-8b", "--hardware", path, *PLAN_FIXED],
            ["report", path, "--out", f"{folder}/report", "--no-images"]]


# --- options ------------------------------------------------------------------------------------

def _commands() -> list[tuple[list[str], Any]]:
    found = []
    ctx = click.Context(cli)  # the CLI loads its commands lazily: ask, don't read cli.commands
    for name, command in ((name, cli.get_command(ctx, name)) for name in cli.list_commands(ctx)):
        if name in ("run",):  # the whole suite plus a report: covered by its own tests
            continue
        subs = getattr(command, "commands", None)
        if subs:
            found += [([name, sub], c) for sub, c in subs.items() if sub != "collectives"]
        else:
            found.append(([name], command))
    return found


def option_values(files: dict[str, str]) -> st.SearchStrategy[str]:
    pool = [
        "",
        "0",
        "-1",
        "1",
        "8",
        "3",
        "1e400",
        "nan",
        "inf",
        "-inf",
        "9" * 40,
        "1.5",
        "15T",
        "1.5e13",
        "0x10",
        "ünïcødé",
        "模型",
        "llama3-8b",
        "h100-sxm",
        "colossus-100k",
        "fp8,bf16",
        "8,16",
        "4x4x4",
        "1K",
        "copy",
        "/nonexistent/x.toml",
        "/",
        *files.values(),
    ]
    return st.one_of(st.sampled_from(pool), TEXT)


@st.composite
def argv_cases(draw, files: dict[str, str]) -> list[str]:
    path, command = draw(st.sampled_from(_commands()))
    options = [p for p in command.params if getattr(p, "opts", None) and p.name not in ("help",)]
    argv = list(path)
    for param in draw(st.lists(st.sampled_from(options), max_size=5)) if options else []:
        argv.append(draw(st.sampled_from(param.opts)))
        if not getattr(param, "is_flag", False):
            argv.append(draw(option_values(files)))
    if path[0] == "bench":
        argv += ["--device", "cpu", "--telemetry-hz", "0"]
    for arg in getattr(command, "params", []):
        if not getattr(arg, "opts", None) or arg.param_type_name != "argument":
            continue
        argv += [draw(option_values(files))] * (1 if arg.nargs == 1 else draw(st.integers(0, 2)))
    return argv


def _stub_measuring(monkeypatch: pytest.MonkeyPatch) -> None:
    """bench builds and validates its cases for real; measuring them is not what is fuzzed here."""
    from exabench.bench import harness, suites
    from exabench.bench.gemm import mamf, prewarm
    from exabench.documents.run import make_result

    # --prewarm-s runs GEMMs for the asked seconds (up to 600): not what is fuzzed either.
    monkeypatch.setattr(
        prewarm, "prewarm", lambda device, seconds: {"seconds": 0.0, "calls": 0, "stubbed": True}
    )

    monkeypatch.setattr(harness, "measure", lambda case, *a, **k: make_result(
        suite=case.suite, name=case.name, params=case.params, status="skipped", error="stubbed"))
    # --mamf searches for a time budget (60 s by default): stub the search, keep its option parsing.
    monkeypatch.setattr(
        mamf,
        "mamf_search",
        lambda device, dtype, target, **k: make_result(
            suite="gemm",
            name=f"mamf_{dtype}",
            params={"target": list(target)},
            status="skipped",
            error="stubbed",
        ),
    )
    monkeypatch.setitem(suites.SUITES, "collectives", suites.SUITES["collectives"].__class__(
        "collectives", lambda *_: [], suites.gemm_timing, run=lambda writer, *_: writer))


# --- the test -----------------------------------------------------------------------------------

SECONDS: dict[str, float] = {}


def _property(name: str, strategy: st.SearchStrategy, check, count: int) -> None:
    started = time.perf_counter()
    _run_property(name, strategy, check, count)
    SECONDS[name] = round(time.perf_counter() - started, 1)


def _run_property(name: str, strategy: st.SearchStrategy, check, count: int) -> None:
    @settings(max_examples=count, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def prop(case: Any) -> None:
        COUNTS[name] = COUNTS.get(name, 0) + 1
        check(case)

    prop()


@pytest.mark.parametrize("scale", ["quick", pytest.param("full", marks=pytest.mark.slow)])
def test_bad_input(scale: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # whatever a fuzzed command writes by default lands here
    _stub_measuring(monkeypatch)
    divisor = 1 if scale == "full" else QUICK_DIVISOR
    COUNTS.clear()
    started = time.perf_counter()

    for kind, command in TOML_COMMANDS.items():
        target = tmp_path / f"{kind}.toml"

        def check_toml(text: str, target=target, command=command) -> None:
            target.write_text(text, encoding="utf-8")
            assert_clean(command(str(target)))

        _property(
            kind,
            toml_cases(f"{kind}s" if kind != "hardware" else "hardware"),
            check_toml,
            FULL[kind] // divisor,
        )

    run_doc = json.loads(_small_run(tmp_path / "seed").read_text())
    run_dir = tmp_path / "runs"
    run_dir.mkdir()
    run_path = run_dir / "run.json"

    def check_run(case: tuple[str, int]) -> None:
        text, which = case
        run_path.write_text(text, encoding="utf-8")
        assert_clean(run_commands(str(run_path), str(run_dir))[which])

    _property(
        "run", st.tuples(json_text(run_doc), st.integers(0, 5)), check_run, FULL["run"] // divisor
    )

    code, plan_text, _ = cli_run(["plan", "--model", "llama3-8b", *PLAN_FIXED, "--format", "json"])
    assert code == 0
    plan_doc = json.loads(plan_text)
    plan_path = tmp_path / "plan.json"

    def check_plan(text: str) -> None:
        plan_path.write_text(text, encoding="utf-8")
        assert_clean(
            ["report", str(plan_path), "--out", str(tmp_path / "plan-report"), "--no-images"]
        )

    _property("plan", json_text(plan_doc), check_plan, FULL["plan"] // divisor)

    files = {
        "run": str(_small_run(tmp_path / "seed2")),
        "plan": str(plan_path),
        "dir": str(tmp_path),
        "model": str(DATA_DIR / "models" / "llama3-8b.toml"),
    }
    plan_path.write_text(json.dumps(plan_doc))
    _property("options", argv_cases(files), assert_clean, FULL["options"] // divisor)

    total = sum(COUNTS.values())
    print(
        f"\nbad input ({scale}): {total} cases in {time.perf_counter() - started:.1f} s: {COUNTS};"
        f" seconds {SECONDS}"
    )
    assert total >= sum(FULL.values()) // divisor * 0.9


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{",
        '{"schema": "exabench.run/1"',
        "[1, 2",
        "null",
        "NaN",
        "1e400",
        '"\\ud800"',
        "\x00\x01",
        '{"schema": "exabench.run/99", "results": []}',
        '{"schema": "exabench.plan/99", "inputs": {}}',
        '{"schema": "exabench.run/1", "id": "x", "created": "c", "config": {}, "environment": {},'
        ' "results": [{"suite": "s", "name": "n", "params": {}, "unit": "s", "samples": [1%s],'
        ' "stats": {}, "metrics": {}, "status": "ok"}]}' % ("0" * 400),
    ],
)
def test_corrupt_json_is_exit_2_one_line(text: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    for args in (
        ["compare", str(path), str(path)],
        ["report", str(path), "--out", str(tmp_path / "r")],
        ["export", str(path), "--format", "bencher"],
        ["history", str(tmp_path)],
    ):
        assert_clean(args, must_fail=True)


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--model", "llama3-8b", "--gpus", "0"],
        ["plan", "--model", "ünïcødé-模型"],
        ["plan", "--model", "llama3-8b", "--tokens", "nan"],
        ["plan", "--model", "llama3-8b", "--tokens", "inf"],
        ["plan", "--model", "llama3-8b", "--tokens", "1e400"],
        ["infer", "--model", "llama3-8b", "--rate", "nan"],
        ["infer", "--model", "llama3-8b", "--rate", "inf"],
        ["infer", "--model", "llama3-8b", "--rate", "1e300"],
        ["infer", "--model", "llama3-8b", "--tpot-ms", "-1"],
        ["infer", "--model", "llama3-8b", "--prompt", "-5"],
        ["bench", "gemm", "--device", "cpu", "--sizes", "1e400"],
        [
            "search",
            "--model",
            "llama3-8b",
            "--gpus",
            "99999999999999999999",
        ],  # hung before: divisors of 1e20
        ["report", "\x00"],  # click's Path let os.stat raise ValueError: embedded null byte
        ["plan", "--model", "llama3\x00-8b"],
        [
            "scale",
            "--model",
            "llama3-8b",
            "--cluster",
            "colossus-100k",
            "--max-gpus",
            "99999999999999999999",
        ],
        ["bench", "memory", "--device", "cpu", "--sizes", "-1K"],
        ["bench", "gemm", "--device", "cpu", "--prewarm-s", "1e9"],
    ],
)
def test_named_bad_values_are_exit_2_one_line(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _stub_measuring(monkeypatch)
    assert_clean(args, must_fail=True)


@pytest.mark.parametrize(
    "kind, key, value",
    [
        ("models", "layers", "100000000"),  # hung the planner before (it walks the layers)
        ("models", "hidden", str(10**400)),
        ("clusters", "gpus", str(10**20)),  # hung the layout search before
        ("clusters", "gpus_per_node", "nan"),
        ("clusters", "pue", "inf"),  # [power] pue: nan and inf were accepted as positive numbers
        (
            "clusters",
            "nic_gbps",
            str(10**400),
        ),  # overflowed float() in the fabric sizing (fuzz find)
        (
            "clusters",
            "gpu",
            '"' + "1" * 400 + '"',
        ),  # a name too long to stat raised OSError (fuzz find)
    ],
)
def test_spec_values_that_would_hang_or_poison_the_plan(kind, key, value, tmp_path: Path) -> None:
    source = DATA_DIR / kind / ("llama3-8b.toml" if kind == "models" else "colossus-100k.toml")
    lines = [f"{key} = {value}" if line.split("=")[0].strip() == key else line
             for line in source.read_text().splitlines()]
    spec = tmp_path / "spec.toml"
    spec.write_text("\n".join(lines) + "\n")
    args = (
        ["plan", "--model", str(spec)]
        if kind == "models"
        else ["plan", "--model", "llama3-8b", "--cluster", str(spec)]
    )
    assert_clean(args, must_fail=True)
