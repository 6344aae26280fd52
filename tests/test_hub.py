"""The model hub's one set of rules: what looks like a path, what a folder must hold, when the
machine counts as offline, and how a failed load is worded."""

from __future__ import annotations

import re

import pytest

from anchorhoi import hub

LAYOUT = hub.ModelLayout(description="the test layout (index.json, a/)", index="index.json",
                         required=("a/config.json",), any_of=(("t.json",), ("v.txt", "m.txt")))


@pytest.mark.parametrize("model_id, path", [
    ("owner/name", False), ("name", False), ("/abs/folder", True), ("./rel", True),
    ("~/models/x", True), ("C:\\models\\x", True), ("a/b/c", True)])
def test_what_looks_like_a_path(model_id, path):
    assert hub.looks_like_path(model_id) is path


def test_a_folder_must_hold_its_layout(tmp_path):
    folder = tmp_path / "model"
    (folder / "a").mkdir(parents=True)
    with pytest.raises(hub.ModelNotFoundError, match=re.escape(
            "lacks index.json, a/config.json, t.json or v.txt + m.txt")) as info:
        hub.resolve(str(folder), LAYOUT)
    assert info.value.model_id == str(folder)
    assert info.value.remedy.endswith("a local folder holding the test layout (index.json, a/).")
    for name in ("index.json", "a/config.json", "v.txt", "m.txt"):
        (folder / name).write_text("{}")
    assert hub.resolve(str(folder), LAYOUT) == str(folder)
    assert hub.resolve("owner/name", LAYOUT) == "owner/name"  # the hub's to answer
    with pytest.raises(hub.ModelNotFoundError, match="no such folder"):
        hub.resolve(str(tmp_path / "nowhere"), LAYOUT)


def test_offline_and_the_load_error_wording(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.is_offline()
    err = hub.load_error("owner/name", "owner/name", OSError("not found\nmore"), LAYOUT)
    assert str(err).startswith("Model 'owner/name' could not be loaded: the machine is offline "
                               "(HF_HUB_OFFLINE=1) and the model is not in the Hugging Face "
                               "cache (not found). Connect to the network once so owner/name")
    err = hub.load_error(str(tmp_path), str(tmp_path), ValueError(""), LAYOUT)
    assert err.reason == "the local folder could not be read (ValueError)"
    with pytest.raises(hub.ModelNotFoundError, match="offline"):
        hub.check_available("anchorhoi-tests/nothing", LAYOUT, cache_dir=tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)
    assert not hub.is_offline()
