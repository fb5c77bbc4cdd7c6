"""Every package folder is listed in pyproject.toml, so the wheel can't silently drop one."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def _config() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["tool"]["setuptools"]


def test_every_package_folder_is_listed() -> None:
    setuptools = _config()
    found = set()
    for dotted, folder in setuptools["package-dir"].items():
        base = ROOT / folder
        for init in base.rglob("__init__.py"):
            if any(
                part.startswith(".") or part == "__pycache__"
                for part in init.relative_to(ROOT).parts
            ):
                continue
            relative = init.parent.relative_to(base)
            found.add(".".join([dotted, *relative.parts]) if relative.parts else dotted)
    assert found == set(setuptools["packages"])


def test_the_four_folders_map_into_the_exabench_namespace() -> None:
    mapping = _config()["package-dir"]
    for folder in ("bench", "workloads", "analysis", "reports"):
        assert mapping[f"exabench.{folder}"] == folder


def test_modules_load_from_the_mapped_folders() -> None:
    import exabench.bench.harness as harness

    # In the editable install the module is the working tree's; in the wheel, site-packages'.
    # Either way it is one module under exabench.*, never a bare top-level `bench`.
    assert harness.__name__ == "exabench.bench.harness"
    assert "bench" not in sys.modules or sys.modules["bench"] is None
