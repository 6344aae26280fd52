"""Argument parsing and dispatch of the ``anchorhoi`` command."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .. import __version__
from ..portable.protocol import DEFAULT_PRESET, DEVICES, PRESET_NAMES


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="anchorhoi", description="AnchorHOI: text → 4D human–"
                                "object interaction (SMPL-X rig motion + object trajectory).")
    p.add_argument("--version", action="version", version=f"anchorhoi {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging on stderr")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    g = sub.add_parser("generate", help="run a whole job and write its folder")
    g.add_argument("prompt", help='the interaction, e.g. "a person sits down on the chair"')
    g.add_argument("--object", type=Path, help="object mesh (OBJ, PLY, GLB/GLTF, STL; Y up, m)")
    g.add_argument("--object-name", help="name of the object in the result")
    g.add_argument("--object-prompt", help="words of the object to generate when no --object is "
                   "given, e.g. \"a wooden stool\" (default: the object the prompt names)")
    g.add_argument("--preset", default=DEFAULT_PRESET, choices=PRESET_NAMES,
                   help=f"quality preset (default: {DEFAULT_PRESET}; only tiny is practical on "
                   "a CPU)")
    g.add_argument("--frames", type=int, help="motion frames (default: the preset's)")
    g.add_argument("--fps", type=float, help="motion frame rate (default: the preset's)")
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--out", type=Path, help="job folder (default: ./anchorhoi-jobs/<time>); an "
                   "existing job folder is resumed")
    g.add_argument("--device", default=DEVICES[0], choices=DEVICES)
    g.add_argument("--image-model", help="image diffusion model: hub id or local folder")
    g.add_argument("--video-model", help="video diffusion model: hub id or local folder")
    g.add_argument("--detector", help="keypoint detector: mediapipe (default) or vitpose")
    g.add_argument("--smplx-dir", type=Path, help="folder with the official SMPL-X .npz files")
    g.add_argument("--cache-dir", type=Path, help="model cache folder")

    from .batch import add_parser as add_batch

    add_batch(sub)

    sub.add_parser("serve", help="the process protocol on stdin/stdout (used by the add-on)")

    s = sub.add_parser("selftest", help="the tiny preset end to end on the CPU, then checks")
    s.add_argument("--out", type=Path, help="keep the job folder here (default: a temp folder)")
    s.add_argument("--cache-dir", type=Path, help="model cache folder (tiny models)")

    d = sub.add_parser("doctor", help="report on this environment")
    d.add_argument("--smplx-dir", type=Path)
    d.add_argument("--cache-dir", type=Path)
    d.add_argument("--json", action="store_true", help="machine-readable output")
    return p


class _Brief(logging.Formatter):
    """No tracebacks on the terminal (they go to the job's log.txt)."""

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text
        record.exc_info = record.exc_text = None
        try:
            return super().format(record)
        finally:
            record.exc_info, record.exc_text = saved


def _logging(verbose: bool) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Brief("%(levelname)s %(name)s: %(message)s") if not verbose else
                         logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    handler.setLevel(logging.DEBUG if verbose else logging.WARNING)
    for noisy in ("httpx", "urllib3", "huggingface_hub", "filelock", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # transformers warns on stderr about optional packages (torchvision) it falls back from
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TQDM_DISABLE", "1")  # the hub's and diffusers' download/load bars
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ start-up chatter
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _logging(args.verbose)
    if args.command in ("serve", "generate"):
        from .generate import generate
        from .serve import serve

        code = serve() if args.command == "serve" else generate(args)
        # the answer is out and every file is written (atomically): skip the interpreter's
        # teardown of torch, MediaPipe and their threads, which takes seconds, so the add-on
        # (or a script that sent SIGTERM) sees the exit right after the terminal message
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        logging.shutdown()
        os._exit(code)
    if args.command == "batch":
        from .batch import batch

        return batch(args)
    if args.command == "selftest":
        from .selftest import selftest

        return selftest(args)
    from .doctor import doctor

    return doctor(args)
