"""Write the one-click set-up's constraints file from the environment the tests run in.

``python tools/freeze_constraints.py`` walks the backend's requirements (``pyproject.toml``'s
dependencies and its ``keypoints`` extra) through the installed distributions and pins each one
reached, with pip itself, to its installed version: ``addon/client/backend_constraints.txt``,
which the extension ships and ``backend_setup.setup_commands`` installs with (``pip -c``).
Run it after changing a dependency and re-running the tests.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "addon" / "client" / "backend_constraints.txt"


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;(]", requirement.strip(), maxsplit=1)[0]


def _applies(requirement: str) -> bool:
    """A requirement without an ``extra`` marker (the extras of a dependency stay out)."""
    marker = requirement.split(";", 1)[1] if ";" in requirement else ""
    return "extra" not in marker


def closure(roots: list[str]) -> dict[str, str]:
    """Installed ``{name: version}`` of ``roots`` and everything they require."""
    found: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = _name(todo.pop())
        key = name.lower().replace("_", "-")
        if key in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a requirement of another platform (its marker), not installed here
        found[key] = dist.version.split("+")[0]
        todo += [r for r in dist.requires or [] if _applies(r)]
    return found


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    roots = project["dependencies"] + project["optional-dependencies"]["keypoints"] + ["pip"]
    pins = closure(roots)
    lines = ["# Exact versions the AnchorHOI backend is tested with (tools/freeze_constraints.py).",
             "# The one-click set-up installs with `pip install -c` this file; torch comes from",
             "# the PyTorch index of the chosen build (CPU or CUDA) at this version."]
    lines += [f"{name}=={version}" for name, version in sorted(pins.items())]
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    sys.stdout.write(f"{len(pins)} pins written to {OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
