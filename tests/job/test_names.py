"""Control characters in a prompt or an object name never reach a clip, file or object name."""

from __future__ import annotations

from anchorhoi.job.request import GenerateRequest, validate
from anchorhoi.job.runs import clip_name
from anchorhoi.portable.names import clean_name


def test_a_prompt_and_object_name_lose_their_control_characters(tmp_path):
    req = validate(GenerateRequest(prompt="a person\x00 sits\x1b[31m down\u202e on\tthe chair",
                                   object_name="Ch\x07air\r\n", job_dir=tmp_path / "job"))
    assert req.prompt == "a person sits [31m down on the chair"
    assert req.object_name == "Ch air"
    name = clip_name("a person\x00sits\x7f down\x85")
    assert name == "a_person_sits_down" and name.isprintable()


def test_names_are_cut_to_blenders_63_bytes_on_whole_characters():
    name = clean_name("é" * 40, "x")
    assert len(name.encode()) <= 63 and name == "é" * 31
    assert clean_name("\x00\x01", "Object") == "Object" and clean_name(42, "Object") == "Object"
