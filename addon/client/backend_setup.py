"""One-click backend set-up: a virtual environment under the extension's user folder with the
backend pip-installed into it (bpy-free; the operator is ``operators/setup_backend.py``).

It downloads, so it runs only when Blender's online access is allowed. The steps are plain
argument lists run one after another as child processes by :class:`SetupRun`, whose
:meth:`~SetupRun.poll` never waits; their output goes to ``setup_log.txt``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

VENV_NAME = "backend-venv"
LOG_NAME = "setup_log.txt"
DEFAULT_BACKEND_SPEC = ""
"""Empty: the backend source bundled in the extension (``backend_src/``, see ``build.py``) with
its MediaPipe extra."""
BUNDLED_BACKEND = Path(__file__).resolve().parents[1] / "backend_src"
PYPI_INDEX = "https://pypi.org/simple"
"""Where every package but torch comes from."""
TORCH_INDEX = {"cuda": "https://download.pytorch.org/whl/cu128",
               "cpu": "https://download.pytorch.org/whl/cpu"}
TORCH_SPEC = "torch>=2.4,<2.15"
"""The torch range the backend supports; the set-up installs the one version of
:data:`CONSTRAINTS`."""
CONSTRAINTS = Path(__file__).resolve().with_name("backend_constraints.txt")
"""Exact versions of torch, pip and every backend dependency (``tools/freeze_constraints.py``),
shipped in the extension: the set-up installs with ``pip -c`` this file."""
SUPPORTED_PYTHON = (3, 11)  # the backend requires Python 3.11 (the same as Blender 4.2–5.0)


class SetupRefused(RuntimeError):
    """The set-up cannot start; the message says why and what to do instead."""


def summary_lines(torch_build: str) -> list[str]:
    """What the set-up installs and roughly how large it is, for the preferences."""
    torch = ("PyTorch with CUDA (about 2.5–5 GB)" if torch_build == "cuda"
             else "PyTorch for the CPU (about 200 MB; only the 'tiny' preset is practical)")
    return [f"Installs: {torch},",
            "diffusers, transformers, accelerate, safetensors (about 100 MB), smplx, nerfacc,",
            "trimesh, scipy, pillow and the AnchorHOI backend itself (a few MB),",
            f"each at the exact version of the extension's {CONSTRAINTS.name}, from",
            f"{TORCH_INDEX[torch_build]} (torch) and {PYPI_INDEX} (the rest).",
            "Model weights are downloaded later, on the first generation (several GB)."]


def pinned(name: str, constraints: Path = CONSTRAINTS) -> str:
    """``name==version`` as the constraints file pins it; ``SetupRefused`` when it does not."""
    try:
        lines = constraints.read_text(encoding="utf-8").splitlines()
    except OSError:
        raise SetupRefused(f"The extension's constraints file {constraints} is missing: "
                           "reinstall the extension from its zip.") from None
    for line in lines:
        if line.split("==", 1)[0].strip().lower() == name.lower() and "==" in line:
            return line.strip()
    raise SetupRefused(f"{constraints.name} pins no {name}: reinstall the extension.")


def venv_python(venv_dir: str | os.PathLike) -> Path:
    venv_dir = Path(venv_dir)
    if os.name == "nt":
        return venv_dir / "Scripts" / "python.exe"
    return venv_dir / "bin" / "python"


def check_can_set_up(*, online_access: bool, base_python: str,
                     version: tuple[int, int] | None = None) -> None:
    if not online_access:
        raise SetupRefused("Online access is disabled in Blender (Preferences › System › "
                           "Network › Allow Online Access): the set-up downloads packages, so "
                           "it does not run. Allow online access, or install the backend "
                           "yourself and set 'Backend Python'.")
    major, minor = version or (sys.version_info.major, sys.version_info.minor)
    if (major, minor) != SUPPORTED_PYTHON:
        raise SetupRefused(
            f"This Blender's Python is {major}.{minor}, the backend needs "
            f"{SUPPORTED_PYTHON[0]}.{SUPPORTED_PYTHON[1]}: create an environment with Python "
            f"{SUPPORTED_PYTHON[0]}.{SUPPORTED_PYTHON[1]} yourself and set 'Backend Python'.")
    if not base_python or not Path(base_python).is_file():
        raise SetupRefused(f"Blender's Python executable {base_python!r} was not found")


def bundled_backend_spec(folder: Path = BUNDLED_BACKEND) -> str:
    """The pip requirement of the backend source bundled in the extension."""
    if not (folder / "pyproject.toml").is_file():
        raise SetupRefused(
            f"This installation carries no backend source ({folder} is missing: the add-on was "
            "not installed from the built extension zip). Set 'Backend Package' to a folder "
            "with the backend's source (the repository) or a wheel.")
    return f"{folder}[keypoints]"


def setup_commands(base_python: str, venv_dir: str | os.PathLike, *, torch_build: str = "cuda",
                   backend_spec: str = DEFAULT_BACKEND_SPEC) -> list[list[str]]:
    """The steps: create the venv, pin pip, install torch from its index, the backend — every
    package at the exact version of :data:`CONSTRAINTS`."""
    if torch_build not in TORCH_INDEX:
        raise ValueError(f"torch_build must be one of {tuple(TORCH_INDEX)}, got {torch_build!r}")
    spec = backend_spec.strip() or bundled_backend_spec()
    py = str(venv_python(venv_dir))
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    return [
        [base_python, "-m", "venv", str(venv_dir)],
        pip + [pinned("pip")],
        pip + ["-c", str(CONSTRAINTS), pinned("torch"), "--index-url", TORCH_INDEX[torch_build]],
        pip + ["-c", str(CONSTRAINTS), spec, "--index-url", PYPI_INDEX],
        [py, "-m", "anchorhoi", "doctor"],
    ]


@dataclass
class SetupRun:
    """Runs ``commands`` one after another; ``poll()`` advances without waiting."""

    commands: list[list[str]]
    log_path: Path
    step: int = 0
    returncode: int | None = None  # of the whole set-up, once done
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.returncode is not None

    def status(self) -> str:
        if self.returncode == 0:
            return "Backend set up."
        if self.done:
            return (f"Set-up failed at step {self.step + 1} of {len(self.commands)} "
                    f"(exit code {self.returncode}); see {self.log_path}")
        return f"Setting up the backend: step {self.step + 1} of {len(self.commands)}…"

    def poll(self) -> bool:
        if self.done:
            return True
        if self._proc is None:
            self._start(self.commands[self.step])
            return False
        code = self._proc.poll()
        if code is None:
            return False
        if code != 0:
            self.returncode = code
            return True
        self.step += 1
        self._proc = None
        if self.step == len(self.commands):
            self.returncode = 0
            return True
        return False

    def cancel(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()

    def _start(self, argv: list[str]) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(("$ " + " ".join(argv) + "\n").encode())
            log.flush()
            try:
                self._proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                              stderr=subprocess.STDOUT)
            except OSError as exc:
                log.write(f"cannot start: {exc}\n".encode())
                self.returncode = 127
