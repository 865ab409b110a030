"""constraints.txt: every package the README's commands install is pinned, and the
environment the tests run in is the pinned one (what CI and a fresh machine resolve)."""

from __future__ import annotations

import os
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = PIN.match(line)
        assert m, f"constraints.txt: not an exact pin: {line!r}"
        assert _norm(m[1]) not in pins, f"constraints.txt pins {m[1]} twice"
        pins[_norm(m[1])] = m[2]
    return pins


def _requirement_names(reqs: list[str]) -> set[str]:
    return {_norm(re.match(r"[A-Za-z0-9._-]+", r)[0]) for r in reqs}


def test_every_dependency_and_extra_is_pinned():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _requirement_names(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        wanted |= _requirement_names(extra)
    pins = _pins()
    assert not wanted - set(pins), f"not in constraints.txt: {sorted(wanted - set(pins))}"
    assert pins["torch"] == "2.13.0"  # the version the README names (its CPU wheel)


def test_the_install_commands_use_the_constraints():
    ci = (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "pip install -c constraints.txt torch==2.13.0 -e \".[test]\"" in ci
    assert ci.split("\n")[-2] in readme  # .ci/run's command is the README's test command
    assert "pip install -c constraints.txt torch==2.13.0 -e \".[litert]\" && " \
        ".venv/bin/mocap demo" in readme


@pytest.mark.skipif(os.environ.get("MOCAP_LOCK_CHECK") == "1",
                    reason="bash .ci/lock tests the newest releases, not the pinned ones")
def test_this_environment_is_the_pinned_one():
    """Every pinned package that is installed has the pinned version (a venv made with the
    README's command); a developer whose environment drifted learns it here."""
    wrong = {}
    for name, version in _pins().items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if have.split("+")[0] != version:
            wrong[name] = f"{have} (pinned {version})"
    assert not wrong, ("installed versions differ from constraints.txt; reinstall with "
                       f"`pip install -c constraints.txt ...`: {wrong}")
