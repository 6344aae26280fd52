"""Reading a batch's requests: JSON lines and CSV, ids, and every bad line refused up front
with its line number, nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anchorhoi.batch.requests import BatchDefaults, default_id, read_requests
from anchorhoi.job.errors import JobError
from anchorhoi.portable.job_marker import mark_job_folder


def _jsonl(path: Path, *lines: dict | str) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def _refusal(path: Path, out: Path) -> str:
    with pytest.raises(JobError) as info:
        read_requests(path, out)
    assert info.value.code == "BAD_REQUEST" and info.value.exit_code == 2
    assert not out.exists()  # nothing written
    return info.value.message


def test_json_lines_give_validated_requests_under_the_batch_folder(tmp_path):
    (tmp_path / "meshes").mkdir()
    (tmp_path / "meshes" / "chair.obj").write_text("v 0 0 0\n")
    reqs = _jsonl(tmp_path / "reqs.jsonl",
                  {"prompt": "a person  sits on the chair", "object": "meshes/chair.obj",
                   "preset": "tiny", "seed": 3, "frames": 8, "fps": 12,
                   "image_model": "img/model", "video_model": "vid/model", "id": "sit-1"},
                  "", "# a comment",
                  {"prompt": "A person pushes the box!", "object_prompt": "a red crate"})
    out = tmp_path / "out"
    jobs = read_requests(reqs, out, BatchDefaults(device="cpu"))
    assert [j.id for j in jobs] == ["sit-1", "004-a-person-pushes-the-box"]
    assert [j.line for j in jobs] == [1, 4]
    first = jobs[0].request
    assert first.job_dir == out / "sit-1"
    assert first.object == tmp_path / "meshes" / "chair.obj"  # relative to the file's folder
    assert first.prompt == "a person sits on the chair"  # the same validation as generate
    assert (first.preset, first.seed, first.frames, first.fps) == ("tiny", 3, 8, 12)
    assert first.models == {"image": "img/model", "video": "vid/model"}
    assert first.device == "cpu"
    assert jobs[1].request.preset == "draft" and jobs[1].request.object is None
    assert jobs[1].request.object_prompt == "a red crate"  # no mesh: the object is generated
    assert not out.exists()


def test_csv_with_a_header_and_empty_cells(tmp_path):
    reqs = tmp_path / "reqs.csv"
    reqs.write_text("prompt,preset,seed,frames,fps,id\n"
                    '"a person sits, then stands",tiny,2,,,\n'
                    "a person waves,tiny,,10,8.5,wave\n")
    jobs = read_requests(reqs, tmp_path / "out")
    assert [j.id for j in jobs] == ["002-a-person-sits-then-stands", "wave"]
    assert jobs[0].request.seed == 2 and jobs[0].request.frames is None
    assert jobs[1].request.frames == 10 and jobs[1].request.fps == 8.5


def test_every_bad_line_is_named_with_its_number(tmp_path):
    reqs = _jsonl(tmp_path / "reqs.jsonl",
                  {"prompt": "fine", "preset": "tiny"},
                  "{not json",
                  {"prompt": "x", "preset": "huge"},
                  {"prompt": "x", "object": "missing.obj"},
                  {"prompt": "x", "seed": "three"},
                  {"prompt": "x", "colour": "red"},
                  {"preset": "tiny"},
                  {"prompt": "x", "id": "../escape"},
                  {"prompt": "x", "frames": 1},
                  ["a list"])
    message = _refusal(reqs, tmp_path / "out")
    assert "9 bad request line(s)" in message
    for line, words in [(2, "not JSON"), (3, "Unknown preset 'huge'"),
                        (4, "BAD_MESH: Object mesh not found"), (5, "field 'seed' must be int"),
                        (6, "unknown field 'colour'"), (7, "BAD_PROMPT"),
                        (8, "not a safe folder name"), (9, "frames must be between"),
                        (10, "not a JSON object")]:
        assert f"line {line}: " in message and words in message, (line, words)
    assert "line 1:" not in message


def test_ids_are_unique_whatever_their_case(tmp_path):
    reqs = _jsonl(tmp_path / "reqs.jsonl", {"prompt": "a", "id": "Take"},
                  {"prompt": "b", "id": "take"})
    assert "line 2: id 'take' is already used by line 1" in _refusal(reqs, tmp_path / "out")


def test_a_folder_of_someone_else_is_refused_and_a_job_folder_is_resumed(tmp_path):
    out = tmp_path / "out"
    (out / "theirs").mkdir(parents=True)
    (out / "theirs" / "notes.txt").write_text("mine")
    (out / "ours").mkdir()
    mark_job_folder(out / "ours", "backend")
    reqs = _jsonl(tmp_path / "reqs.jsonl", {"prompt": "a", "id": "ours"},
                  {"prompt": "b", "id": "theirs"})
    with pytest.raises(JobError, match="line 2: BAD_REQUEST: .*theirs holds files"):
        read_requests(reqs, out)
    assert (out / "theirs" / "notes.txt").read_text() == "mine"
    reqs.write_text(json.dumps({"prompt": "a", "id": "ours"}) + "\n")
    assert [j.id for j in read_requests(reqs, out)] == ["ours"]


def test_an_unknown_csv_column_an_empty_file_and_an_unreadable_file(tmp_path):
    csv_file = tmp_path / "reqs.csv"
    csv_file.write_text("prompt,mood\nhello,happy\n")
    assert "line 1: unknown column(s) ['mood']" in _refusal(csv_file, tmp_path / "out")
    empty = _jsonl(tmp_path / "empty.jsonl", "", "# nothing")
    assert "holds no requests" in _refusal(empty, tmp_path / "out")
    assert "Cannot read the requests file" in _refusal(tmp_path / "nope.jsonl", tmp_path / "out")


def test_default_ids_are_safe_folder_names():
    assert default_id(7, "A person sits on the chair.") == "007-a-person-sits-on-the-chair"
    assert default_id(12, "¿¡!") == "012"
    long = default_id(1, "word " * 40)
    assert len(long) <= 44 and not long.endswith("-")
