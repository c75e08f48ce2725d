"""`python -m ops.lockcheck`: does requirements.lock satisfy every pyproject.toml?

`make install` installs exactly the lock (`uv pip sync`), then runs this. It fails, naming the
requirement, when a pyproject asks for a package the lock lacks or a version it excludes:
someone changed a dependency without `make lock`. Workspace members (our own plugins) are
installed from the tree, so they are not in the lock.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LOCK = PROJECT_ROOT / "requirements.lock"
MEMBER_GLOBS = ("libs/*", "taps/*", "targets/*", "mappers/*")


def members() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for pattern in MEMBER_GLOBS:
        for path in sorted(PROJECT_ROOT.glob(f"{pattern}/pyproject.toml")):
            name = tomllib.loads(path.read_text())["project"]["name"]
            found[canonicalize_name(name)] = path
    return found


def requirements() -> Iterator[tuple[str, Requirement]]:
    """(where, requirement) for the root's dependencies, extras and groups, and every member's."""
    root = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    project = root["project"]
    for text in project.get("dependencies", []):
        yield "pyproject.toml", Requirement(text)
    for extra, texts in project.get("optional-dependencies", {}).items():
        for text in texts:
            yield f"pyproject.toml [{extra}]", Requirement(text)
    for group, texts in root.get("dependency-groups", {}).items():
        for text in texts:
            if isinstance(text, str):
                yield f"pyproject.toml group {group}", Requirement(text)
    for path in members().values():
        for text in tomllib.loads(path.read_text())["project"].get("dependencies", []):
            yield str(path.relative_to(PROJECT_ROOT)), Requirement(text)


def locked(lock: Path = LOCK) -> dict[str, Version]:
    """name -> pinned version, for the lines of `lock` whose marker holds here."""
    pins: dict[str, Version] = {}
    for line in lock.read_text().splitlines():
        if not line or line[0] in "# -" or line.startswith(" "):
            continue
        requirement = Requirement(line.rstrip(" \\"))
        if requirement.marker is None or requirement.marker.evaluate():
            (spec,) = requirement.specifier
            pins[canonicalize_name(requirement.name)] = Version(spec.version)
    return pins


def problems(lock: Path = LOCK) -> list[str]:
    pins, ours = locked(lock), members()
    found = []
    for where, requirement in requirements():
        name = canonicalize_name(requirement.name)
        if name in ours or (requirement.marker and not requirement.marker.evaluate({"extra": ""})):
            continue
        version = pins.get(name)
        if version is None:
            found.append(f"{where}: {requirement} is not in {lock.name}")
        elif not requirement.specifier.contains(version, prereleases=True):
            found.append(f"{where}: {requirement} excludes the locked {name}=={version}")
    return found


def main() -> int:
    if found := problems():
        for problem in found:
            print(f"lock out of date: {problem} (run `make lock`)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
