"""The locks: every machine installs exactly the versions CI ran, each file checked against its hash.

requirements/*.txt pin every package (and what builds the project) with the hashes of its
published files; scripts/setup installs from them with `pip --require-hashes`, then the project
itself without dependencies. These tests read the locks against pyproject.toml, check that they are
up to date with it, and run setup on a fresh copy of the project to see what it installs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[1]
HOME = Path.home()  # pip's download cache lives there
LOCKS = {"run": (), "loopback": ("loopback",), "dev": ("dev", "loopback")}
ADVISORY_FLOORS = {"aiohttp": Version("3.14.3")}  # CVE-2026-69244 (fixed in 3.14.3), CVE-2026-34520 (3.13.4)
# One locked package: `name==version[ ; marker] \` and its `--hash=sha256:...` lines.
_ENTRY = re.compile(
    r"^(?P<requirement>[A-Za-z0-9][^\s\\]*(?: ; [^\\]+?)?) \\\n"
    r"(?P<hashes>(?:    --hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)",
    re.M,
)


@dataclass(frozen=True)
class Pin:
    """One locked package for this machine: its version and how many file hashes guard it."""

    version: Version
    hashes: int


def pins(lock: str) -> dict[str, Pin]:
    """The lock's packages that apply to this interpreter and platform, by canonical name."""
    found: dict[str, Pin] = {}
    for entry in _ENTRY.finditer((REPO / "requirements" / f"{lock}.txt").read_text(encoding="utf-8")):
        requirement = Requirement(entry["requirement"])
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        [specifier] = requirement.specifier
        assert specifier.operator == "==", f"{requirement} is not pinned to one version"
        found[canonicalize_name(requirement.name)] = Pin(Version(specifier.version), entry["hashes"].count("--hash"))
    return found


def wanted(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject.toml's requirements for the product plus these extras (an extra naming the project unfolded)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += [line for line in project["optional-dependencies"][extra] if not line.startswith(project["name"])]
    return [Requirement(line) for line in lines]


@pytest.mark.parametrize("lock", LOCKS)
def test_every_requirement_is_locked_within_its_range_with_hashes(lock: str) -> None:
    locked = pins(lock)
    assert locked, f"requirements/{lock}.txt pins nothing for this machine"
    for requirement in wanted(LOCKS[lock]):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pin = locked.get(canonicalize_name(requirement.name))
        assert pin is not None, f"{requirement.name} is missing from requirements/{lock}.txt"
        assert requirement.specifier.contains(pin.version, prereleases=True), f"{requirement.name} {pin.version}"
    assert all(pin.hashes >= 1 for pin in locked.values())
    for build in ("pip", "setuptools", "wheel"):
        assert canonicalize_name(build) in locked, f"{build} builds the project, so it is locked too"


@pytest.mark.parametrize("lock", LOCKS)
def test_no_lock_admits_a_version_with_a_named_advisory(lock: str) -> None:
    locked = pins(lock)
    for name, floor in ADVISORY_FLOORS.items():
        assert locked[name].version >= floor
    for requirement in wanted(LOCKS[lock]):
        if requirement.name in ADVISORY_FLOORS:
            assert not requirement.specifier.contains(Version("3.14.2")), "pyproject's floor is above it too"


def test_the_smaller_locks_run_the_versions_the_tests_ran() -> None:
    dev = pins("dev")
    for lock in ("run", "loopback"):
        differing = {name: (pin.version, dev[name].version) for name, pin in pins(lock).items() if dev[name] != pin}
        assert differing == {}, f"requirements/{lock}.txt differs from dev.txt: {differing}"


def test_the_locks_are_up_to_date_with_pyproject() -> None:
    # The guide's own command (section 7), as written: it changes nothing and fails on a stale lock.
    guide = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    [command] = [
        line.split("#")[0].strip() for line in guide.splitlines() if line.startswith("bash scripts/lock --check")
    ]
    result = subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr + result.stdout


def test_setup_on_a_fresh_copy_installs_exactly_the_lock(tmp_path: Path) -> None:
    copy = tmp_path / "practice-circles"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        if (REPO / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, copy / name)
    result = subprocess.run(
        ["bash", "scripts/setup"],
        cwd=copy,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "PYTHON": sys.executable, "HOME": str(HOME)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    listing = subprocess.run(
        [str(copy / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    installed = {
        canonicalize_name(name): Version(version)
        for name, version in (line.split("==") for line in listing.splitlines() if "==" in line)
    }
    assert installed == {name: pin.version for name, pin in pins("run").items()}, "exactly the lock, nothing else"
