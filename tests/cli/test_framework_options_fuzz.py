"""``--framework`` and ``--set``, property-based: any text ends in a plan (exit 0) or in exit 2
with one line on stderr, never a traceback.

The CLI runs in-process (``exabench.cli.main``, SystemExit caught) on a toy model written once,
with few, derandomized examples and no deadline, so the file runs in a few seconds.
``--set zero=...`` and ``--set recompute=...`` are left out: a known traceback, marked xfail in
tests/cli/test_plan.py (test_set_of_a_searched_knob_is_no_traceback).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from exabench.cli import main
from exabench.workloads.frameworks import KNOBS, framework_names

TOY = 'name = "toy"\nlayers = 2\nhidden = 64\nheads = 4\nvocab = 128\nseq_len = 16\n'
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=16)
KNOWN_BUG = ("zero", "recompute")
SAFE_KNOBS = sorted(k for k in KNOBS if k not in KNOWN_BUG)
VALUES = st.one_of(TEXT, st.sampled_from(
    ["true", "false", "on", "OFF", "yes", "0", "1", "2", "4", "-1", "1e400", "nan", "inf",
     "layer", "fa3", "cudnn", "unfused", " 25 ", "2.0", "1e6", "1000001"]))
SETTINGS = st.one_of(
    TEXT,
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(SAFE_KNOBS), VALUES),
    st.builds(lambda k, v: f"{k.replace('_', '-')} = {v}", st.sampled_from(SAFE_KNOBS), VALUES),
).filter(lambda s: s.partition("=")[0].strip().replace("-", "_") not in KNOWN_BUG)
FRAMEWORKS = st.one_of(TEXT, st.sampled_from([*framework_names(), "", ".", "/", "x.toml",
                                              "megatron.toml", "../frameworks/fsdp"]))


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory) -> str:
    path = Path(tmp_path_factory.mktemp("fuzz")) / "toy.toml"
    path.write_text(TOY)
    return str(path)


def cli(args: list[str]) -> tuple[int, str]:
    """Exit code and stderr of the CLI in-process; any other exception is a traceback."""
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            main(args)
            code = 0
        except SystemExit as end:
            code = end.code if isinstance(end.code, int) else 1
    return code, err.getvalue()


def assert_clean(args: list[str]) -> None:
    code, err = cli(args)
    assert code in (0, 2), (args, code, err)
    if code == 2:
        assert err.startswith("error: ") and err.count("\n") == 1, (args, err)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(items=st.lists(SETTINGS, min_size=1, max_size=3))
def test_any_set_is_a_plan_or_one_line(toy_model: str, items: list[str]) -> None:
    args = ["plan", "--model", toy_model, "--format", "json"]
    for item in items:
        args += ["--set", item]
    assert_clean(args)


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(framework=FRAMEWORKS)
def test_any_framework_is_a_plan_or_one_line(toy_model: str, framework: str) -> None:
    assert_clean(["plan", "--model", toy_model, "--framework", framework, "--format", "json"])
