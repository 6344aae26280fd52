"""Request validation and the protocol's encoding: every bad input gets one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anchorhoi.job.errors import JobError, classify
from anchorhoi.job.request import GenerateRequest, request_from_json, validate
from anchorhoi.portable import protocol as P


def _code(fn, *args):
    with pytest.raises(JobError) as info:
        fn(*args)
    return info.value.code, info.value.message


def test_prompt_is_normalised_and_empty_prompts_are_refused(tmp_path):
    req = validate(GenerateRequest(prompt="  a person\n sits  ", job_dir=tmp_path))
    assert req.prompt == "a person sits"
    assert _code(validate, GenerateRequest(prompt=" \t\n", job_dir=tmp_path)) == (
        "BAD_PROMPT", "The prompt is empty.")
    code, message = _code(validate, GenerateRequest(prompt="x" * 1001, job_dir=tmp_path))
    assert code == "BAD_PROMPT" and "1001 characters" in message


@pytest.mark.parametrize("field, value, code, words", [
    ("preset", "ultra", "BAD_REQUEST", "Unknown preset 'ultra'"),
    ("device", "tpu", "BAD_REQUEST", "Unknown device 'tpu'"),
    ("frames", 1, "BAD_REQUEST", "frames must be between 2 and 1000"),
    ("fps", 0.5, "BAD_REQUEST", "fps must be between 1 and 240"),
    ("models", {"audio": "x"}, "BAD_REQUEST", "Unknown model role(s) ['audio']"),
    ("object", Path("/nonexistent/chair.obj"), "BAD_MESH", "Object mesh not found"),
    ("smplx_dir", Path("/nonexistent/smplx"), "BAD_REQUEST", "SMPL-X folder not found"),
])
def test_bad_fields(tmp_path, field, value, code, words):
    got, message = _code(validate, GenerateRequest(prompt="a person sits", job_dir=tmp_path,
                                                   **{field: value}))
    assert got == code and words in message


def test_request_from_json_checks_types_and_fields(tmp_path):
    req = request_from_json({"prompt": "a person sits", "job_dir": str(tmp_path),
                             "preset": "tiny", "frames": 12, "fps": 8, "seed": 3})
    assert (req.preset, req.frames, req.fps, req.seed, req.device) == ("tiny", 12, 8, 3, "auto")
    code, message = _code(request_from_json, {"prompt": "x", "job_dir": str(tmp_path),
                                              "frames": "12", "colour": 1, "seed": True})
    assert code == "BAD_REQUEST"
    assert message == ("Bad generate request: field 'frames' has the wrong type (str); unknown "
                       "field 'colour'; field 'seed' has the wrong type (bool)")
    assert _code(request_from_json, ["prompt"])[0] == "BAD_REQUEST"
    assert "missing field 'job_dir'" in _code(request_from_json, {"prompt": "x"})[1]


def test_exit_codes_and_classification():
    from anchorhoi.hub import ModelNotFoundError
    from anchorhoi.objects.mesh_io import MeshError

    assert JobError("BAD_PROMPT", "x").exit_code == P.EXIT_BAD_REQUEST
    assert JobError("INTERNAL", "x").exit_code == P.EXIT_CRASH
    err = classify(ModelNotFoundError("owner/model", "offline", remedy="Connect once."))
    assert err.code == "MODEL_NOT_FOUND" and err.message == ("Model 'owner/model' could not be "
                                                             "loaded: offline.")
    assert err.hint.startswith("Connect once. Set it in the add-on preferences")
    assert classify(MeshError("no faces")).code == "BAD_MESH"
    assert classify(RuntimeError("CUDA out of memory. Tried to allocate 2 GiB")).code == "CUDA_OOM"
    assert classify(KeyError("x")).code == "INTERNAL"
    with pytest.raises(ValueError, match="unknown error code"):
        JobError("OOPS", "x")


def test_protocol_lines_round_trip_and_garbage_is_refused():
    line = P.encode("progress", stage="anchor", step=3, total=40, eta_s=float("inf"),
                    losses={"sds": 0.25, "bad": float("nan")})
    assert line.endswith("\n") and line.count("\n") == 1
    assert json.loads(line) == {"type": "progress", "stage": "anchor", "step": 3, "total": 40,
                                "eta_s": None, "losses": {"sds": 0.25, "bad": None}}
    msg = P.decode(line.encode())
    assert msg.type == "progress" and msg.get("step") == 3
    for garbage, words in (("Loading weights: 100%", "not a protocol line"),
                           ("[1, 2]", "not a protocol message"),
                           ('{"type": "shout"}', "unknown message type 'shout'"),
                           (b"\xff\xfe", "not UTF-8")):
        with pytest.raises(P.ProtocolError, match=words):
            P.decode(garbage)
    with pytest.raises(ValueError):
        P.encode("shout")


def test_hello_must_speak_our_protocol():
    P.check_hello(P.decode(P.encode("hello", protocol=P.PROTOCOL_VERSION, backend="0.1.0")))
    with pytest.raises(P.ProtocolError, match="PROTOCOL_MISMATCH: the backend speaks protocol 99"):
        P.check_hello(P.decode(P.encode("hello", protocol=99)))
    with pytest.raises(P.ProtocolError, match="expected a hello first"):
        P.check_hello(P.decode(P.encode("stage", stage="anchor")))


def test_video_family_from_folder_or_id(tmp_path):
    from anchorhoi.video.registry import video_family

    assert video_family("Lightricks/LTX-Video") == "ltx"
    assert video_family("Wan-AI/Wan2.2-TI2V-5B-Diffusers") == "wan"
    folder = tmp_path / "my-video-model"
    folder.mkdir()
    (folder / "model_index.json").write_text('{"_class_name": "LTXConditionPipeline"}')
    assert video_family(str(folder)) == "ltx"
    (folder / "model_index.json").write_text('{"_class_name": "WanImageToVideoPipeline"}')
    assert video_family(str(folder)) == "wan"


def test_no_person_keeps_its_hint_once():
    from anchorhoi.keypoints.base import NoPersonFoundError

    err = classify(NoPersonFoundError("no person in any of the 12 frames"))
    assert err.code == "NO_PERSON" and err.exit_code == P.EXIT_BAD_REQUEST
    assert err.message == "no person in any of the 12 frames."
    assert err.hint.startswith("Try another seed or prompt") and err.hint not in err.message
