"""Development sessions. ``nox -l`` lists them; ``nox`` runs lint, tests and wheel."""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "wheel"]
nox.options.error_on_missing_interpreters = True

PYTEST_FLAGS = ("--durations=10",)


def _torch_first(session: nox.Session) -> None:
    """Install the CPU build of torch where this machine keeps one, before the project pulls a
    (multi-GB) CUDA build from the registry; a GPU node already has its own."""
    session.run("python", "-m", "pip", "install", "-q", "torch==2.13.0", success_codes=[0, 1])


def _run_tests(session: nox.Session, install_target: str) -> None:
    """Install the project the given way, then run pytest on the tests folder."""
    _torch_first(session)
    session.install(*install_target.split())
    session.run("python", "-m", "pytest", *PYTEST_FLAGS, *(session.posargs or ("tests",)))


@nox.session
def tests(session: nox.Session) -> None:
    """Editable install and the test suite: the fast inner loop."""
    _run_tests(session, "-e .[bench,test]")


@nox.session
def wheel(session: nox.Session) -> None:
    """Build the wheel and install it (not the tree), then run the tests against it: proves the
    wheel holds every package and data file (a missing one can hide behind an editable install)."""
    _torch_first(session)
    session.install("build")
    # A stale build/ or *.egg-info from an earlier build can smuggle a package into the wheel
    # that the package list lacks: build from a clean slate.
    shutil.rmtree("build", ignore_errors=True)
    for info in Path(".").glob("*.egg-info"):
        shutil.rmtree(info, ignore_errors=True)
    dist = Path(session.create_tmp()) / "dist"
    session.run("python", "-m", "build", "--wheel", "--outdir", str(dist), silent=True)
    wheel_file = next(dist.glob("exabench-*.whl"))
    session.install(f"{wheel_file}[bench,test]")
    # Run from a scratch folder so the working tree can't shadow the installed package.
    tests_dir = Path("tests").resolve()
    with session.chdir(session.create_tmp()):
        session.run(
            "python",
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            *PYTEST_FLAGS,
            "-c",
            str(tests_dir.parent / "pyproject.toml"),
            "--rootdir",
            str(tests_dir.parent),
            *(session.posargs or (str(tests_dir),)),
        )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff: style, import order, and the ban on bare `import bench/workloads/analysis/reports`."""
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def benchmark(session: nox.Session) -> None:
    """Print the performance figures the issues set as targets (every script in benchmarks/)."""
    _torch_first(session)
    session.install("-e", ".[bench,test]")
    scripts = session.posargs or sorted(str(p) for p in Path("benchmarks").glob("*.py"))
    for script in scripts:
        session.log(f"--- {script}")
        session.run("python", script)


@nox.session
def gpu(session: nox.Session) -> None:
    """Only the tests marked `gpu` (on a machine with CUDA; they skip elsewhere)."""
    session.install("-e", ".[bench,test]")
    session.run("python", "-m", "pytest", "-m", "gpu", *PYTEST_FLAGS, *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Rerun every example in README.md and docs/*.md and rewrite its output block
    (``docs/examples.py``; CPU only, a minute or two). ``nox -s docs -- --check`` only lists the
    blocks that differ. tests/cli/test_readme.py fails until the pages match their commands."""
    _torch_first(session)
    session.install("-e", ".[bench]")
    session.run("python", "docs/examples.py", *session.posargs)


@nox.session
def calibrate(session: nox.Session) -> None:
    """Rewrite workloads/accuracy.toml (the planner's throughput P10-P90 that plans' uncertainty
    uses) from `exabench validate`'s leave-one-source-out residuals (``docs/calibrate.py``; CPU,
    seconds). Rerun after the planner or workloads/published/ change; ``-- --check`` only says
    whether the shipped file is current. tests/workloads/test_accuracy.py fails until it is."""
    session.install("-e", ".")
    session.run("python", "docs/calibrate.py", *session.posargs)
