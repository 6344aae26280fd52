"""The model hub: a model id is a Hugging Face hub id or a local folder.

One module owns the rules every prior and detector loads by:

- :func:`resolve`: a local folder must hold its layout's files; an id that looks like a path
  (:func:`looks_like_path`) but is no folder is refused; anything else goes to the hub — all
  before any network access;
- :func:`is_offline`: ``HF_HUB_OFFLINE`` as the hub library and the environment say;
- :func:`load_error`: the :class:`ModelNotFoundError` for a failed ``from_pretrained``, worded
  by where the model was looked for;
- :func:`is_cached` and :func:`check_available` (the job's pre-flight): cached, or reachable
  (with its download size), or a :class:`ModelNotFoundError` saying why not — offline, naming
  the setting to turn on and the size still to fetch: exact from the repository listing kept
  when it was last checked online (:func:`fetched_bytes` counts both), else "about" that of a
  published checkpoint in ``checkpoints.py``'s table (a fresh install).

Light on purpose: ``huggingface_hub`` is imported only inside the functions that need it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .checkpoints import estimated_download

OFFLINE_VALUES = {"1", "ON", "YES", "TRUE"}
"""Values of ``HF_HUB_OFFLINE`` that mean offline (the hub library's own rule)."""

log = logging.getLogger(__name__)

DOWNLOAD_SUFFIXES = (".safetensors", ".json", ".model", ".txt")
"""Files counted in the download size of a note (weights, configs, tokenizers)."""


@dataclass(frozen=True, kw_only=True)
class ModelLayout:
    """The files a model folder holds, and how a person is told about them."""

    description: str
    """E.g. "the diffusers layout (model_index.json, unet/, …)"; ends the remedy sentence."""
    index: str
    """The file that marks the model (``model_index.json``, ``config.json``): checked first in
    a folder and in the hub cache."""
    required: tuple[str, ...] = ()
    """Further files a local folder must hold."""
    any_of: tuple[tuple[str, ...], ...] = ()
    """Groups of files of which a local folder must hold one whole group (e.g. a tokenizer
    as ``tokenizer.json`` or as ``vocab.json`` + ``merges.txt``); empty: no such rule."""


class ModelNotFoundError(Exception):
    """A model could not be loaded: not cached, offline, no such repository, files missing, or
    the package that carries it not installed. ``reason`` says which, ``remedy`` what to do."""

    def __init__(self, model_id: str, reason: str, *, remedy: str):
        self.model_id = model_id
        self.reason = reason
        self.remedy = remedy
        super().__init__(f"Model {model_id!r} could not be loaded: {reason}. {remedy}")


OFFLINE_BY_ENV = "ANCHORHOI_OFFLINE_BY"
"""Set to ``blender`` by the add-on (with ``HF_HUB_OFFLINE=1``) when Blender's *Allow Online
Access* is off: the remedy then names that setting."""


def download_remedy(model_id: str, layout: ModelLayout, *, size: int | None = None,
                    missing: list[str] | None = None) -> str:
    """What to do about a model that is neither cached nor in a usable folder; ``size``: the
    bytes the download would fetch, from a kept listing (:func:`offline_download_size`); without
    it, about as many as the published checkpoint's table says for the component folders
    ``missing`` (None: all; :func:`~anchorhoi.checkpoints.estimated_download`)."""
    amount = f"{format_size(size)} to download, {size:,} bytes" if size is not None else None
    if amount is None:
        estimate = estimated_download(model_id, missing)
        amount = ("its size is not known here; an online check states it before the download "
                  "starts" if estimate is None else f"about {format_size(estimate)} to download")
    if os.environ.get(OFFLINE_BY_ENV) == "blender":
        return (f"Turn on Allow Online Access (Blender Preferences › System › Network) so "
                f"{model_id} can be downloaded and cached ({amount}), or set the model id to "
                f"a local folder holding {layout.description}.")
    if is_offline():
        return (f"Unset HF_HUB_OFFLINE (or set it to 0) so {model_id} can be downloaded and "
                f"cached ({amount}), or set the model id to a local folder holding "
                f"{layout.description}.")
    return (f"Connect to the network once so {model_id} can be downloaded and cached, or set "
            f"the model id to a local folder holding {layout.description}.")


def format_size(size: int) -> str:
    """``size`` bytes as a person reads it: GB, MB or kB with one decimal."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size / 1e3:.1f} kB"


def is_offline() -> bool:
    """Whether hub access is switched off (``HF_HUB_OFFLINE``, read now and at import)."""
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in OFFLINE_VALUES
    return bool(constants.HF_HUB_OFFLINE) or env


def looks_like_path(model_id: str) -> bool:
    """An id that can only mean a folder: absolute, starting with ``.`` or ``~``, with a
    backslash, or with more than one ``/`` (a hub id is ``owner/name`` or ``name``)."""
    return (Path(model_id).expanduser().is_absolute() or model_id.startswith((".", "~"))
            or "\\" in model_id or model_id.count("/") > 1)


def resolve(model_id: str, layout: ModelLayout) -> str:
    """The source to pass to ``from_pretrained``: the folder (checked against ``layout``) or
    the hub id. :class:`ModelNotFoundError` for a folder lacking files or a path that is no
    folder — without any network access."""
    path = Path(model_id).expanduser()
    if path.is_dir():
        missing = [f for f in (layout.index, *layout.required) if not (path / f).is_file()]
        if layout.any_of and not any(all((path / f).is_file() for f in group)
                                     for group in layout.any_of):
            missing.append(" or ".join(" + ".join(group) for group in layout.any_of))
        if missing:
            raise ModelNotFoundError(model_id, f"the folder lacks {', '.join(missing)}",
                                     remedy=download_remedy(model_id, layout))
        return str(path)
    if looks_like_path(model_id):
        raise ModelNotFoundError(model_id, "no such folder",
                                 remedy=download_remedy(model_id, layout))
    return model_id


def load_error(model_id: str, source: str, exc: BaseException, layout: ModelLayout
               ) -> ModelNotFoundError:
    """The :class:`ModelNotFoundError` to raise when ``from_pretrained(source)`` failed."""
    text = str(exc).strip()
    first_line = text.splitlines()[0] if text else type(exc).__name__
    if Path(source).is_dir():
        reason = f"the local folder could not be read ({first_line})"
    elif is_offline():
        reason = ("the machine is offline (HF_HUB_OFFLINE=1) and the model is not in the Hugging "
                  f"Face cache ({first_line})")
    else:
        reason = ("it is neither in the Hugging Face cache nor downloadable — no such repository, "
                  f"no network, gated, or no .safetensors weights ({first_line})")
    return ModelNotFoundError(model_id, reason, remedy=download_remedy(model_id, layout))


VARIANT = re.compile(r"\.(fp16|bf16|fp32|non_ema|ema)[.-]")
"""A weight variant (``model.fp16.safetensors``): ``from_pretrained`` without ``variant=``
never fetches it."""


def pipeline_components(index: dict) -> list[str]:
    """The component folders ``from_pretrained`` loads for a ``model_index.json`` (entries
    ``name: [library, class]`` with both set)."""
    return sorted(k for k, v in index.items() if not k.startswith("_") and isinstance(v, list)
                  and len(v) == 2 and v[0] is not None and v[1] is not None)


def missing_parts(folder: Path, components: list[str]) -> list[str]:
    """Component folders of a snapshot ``folder`` that are absent or incomplete: a model's
    folder (``config.json``) needs ``.safetensors`` weights, every shard its index lists."""
    missing = []
    for name in components:
        part = folder / name
        files = {f.name for f in part.iterdir()} if part.is_dir() else set()
        complete = bool(files)
        for index_name in (f for f in files if f.endswith(".safetensors.index.json")):
            try:
                shards = set(json.loads((part / index_name).read_text(encoding="utf-8"))
                             ["weight_map"].values())
            except (OSError, ValueError, KeyError):
                complete = False
                continue
            complete = complete and shards <= files
        if "config.json" in files and not any(f.endswith(".safetensors") for f in files):
            complete = False
        if not complete:
            missing.append(f"{name}/")
    return missing


def cached_snapshot(model_id: str, layout: ModelLayout, *, cache_dir: Path | None = None
                    ) -> Path | None:
    """The hub cache's snapshot folder holding ``model_id``'s index file, or None."""
    from huggingface_hub import try_to_load_from_cache

    try:
        hit = try_to_load_from_cache(model_id, layout.index, cache_dir=cache_dir)
    except ValueError:  # not a valid repository id
        return None
    return Path(hit).parent if isinstance(hit, str) else None


def cache_gaps(model_id: str, layout: ModelLayout, *, cache_dir: Path | None = None
               ) -> list[str] | None:
    """None when nothing of ``model_id`` is cached; else the component folders still missing
    (empty: complete). A layout whose index is no ``model_index.json`` counts as complete once
    its index file is there."""
    snapshot = cached_snapshot(model_id, layout, cache_dir=cache_dir)
    if snapshot is None:
        return None
    if layout.index != "model_index.json":
        return []
    try:
        index = json.loads((snapshot / layout.index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [layout.index]
    return missing_parts(snapshot, pipeline_components(index))


def is_cached(model_id: str, layout: ModelLayout, *, cache_dir: Path | None = None) -> bool:
    """Whether the hub cache holds all of ``model_id`` that ``from_pretrained`` needs (every
    component folder complete; no network access)."""
    return cache_gaps(model_id, layout, cache_dir=cache_dir) == []


def download_size(files: dict[str, int], components: list[str] | None = None) -> int:
    """Bytes ``from_pretrained`` fetches from a repository listing ``{path: size}``: the index
    and configs at the root plus the component folders' files (``components``; None: every
    folder), without ``.bin`` twins, weight variants or single-file checkpoints at the root."""
    total = 0
    for path, size in files.items():
        folder, _, name = path.rpartition("/")
        if not name.endswith(DOWNLOAD_SUFFIXES) or VARIANT.search(name):
            continue
        if folder == "":
            if name.endswith(".safetensors"):  # a single-file checkpoint beside the folders
                continue
        elif "/" in folder or (components is not None and folder not in components):
            continue
        total += size
    return total


LISTING_FILE = "anchorhoi-listing.json"
"""A repository's ``{path: size}`` listing, kept in its hub cache folder when an online check
fetched it: offline, the size of what is still missing can then be stated exactly."""


def listing_path(model_id: str, cache_dir: Path | None = None) -> Path:
    """Where ``model_id``'s listing is kept (its folder in the hub cache)."""
    from huggingface_hub import constants
    from huggingface_hub.file_download import repo_folder_name

    root = Path(cache_dir) if cache_dir is not None else Path(constants.HF_HUB_CACHE)
    return root / repo_folder_name(repo_id=model_id, repo_type="model") / LISTING_FILE


def record_listing(model_id: str, files: dict[str, int], cache_dir: Path | None = None) -> None:
    """Keep ``files`` (``{path: size}``) as ``model_id``'s listing (atomically)."""
    from .portable.arrays import write_text_atomic

    path = listing_path(model_id, cache_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(files, sort_keys=True) + "\n")


def recorded_listing(model_id: str, cache_dir: Path | None = None) -> dict[str, int] | None:
    """``model_id``'s kept listing, or None (none kept, or unreadable)."""
    try:
        files = json.loads(listing_path(model_id, cache_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(files, dict) or not all(
            isinstance(k, str) and isinstance(v, int) for k, v in files.items()):
        return None
    return files


def fetched_bytes(files: dict[str, int], layout: ModelLayout, gaps: list[str] | None = None
                  ) -> int:
    """Bytes ``from_pretrained`` fetches for ``layout`` from a listing ``{path: size}``: all of
    it (``gaps`` None: nothing cached), or only the missing component folders ``gaps``
    (:func:`cache_gaps`; the index and configs at the root are cached already)."""
    if layout.index != "model_index.json":  # one model: its files at the root
        return sum(size for path, size in files.items() if "/" not in path
                   and path.endswith(DOWNLOAD_SUFFIXES) and not VARIANT.search(path))
    folders = {path.split("/")[0] for path in files if "/" in path}
    components = [f for f in folders if f"{f}/config.json" in files
                  or any(p.startswith(f"{f}/") and p.endswith("_config.json") for p in files)]
    if gaps is None or not all(g.endswith("/") for g in gaps):
        return download_size(files, components)
    missing = [g.rstrip("/") for g in gaps]
    return download_size({p: n for p, n in files.items() if "/" in p},
                         [c for c in components if c in missing])


def offline_download_size(model_id: str, layout: ModelLayout, gaps: list[str] | None, *,
                          cache_dir: Path | None = None) -> int | None:
    """Bytes a download of what is missing would fetch, from the kept listing; None without
    one."""
    files = recorded_listing(model_id, cache_dir)
    return None if files is None else fetched_bytes(files, layout, gaps)


def check_available(model_id: str, layout: ModelLayout, *, cache_dir: Path | None = None
                    ) -> str | None:
    """Whether ``model_id`` can be loaded: None when it is a valid folder or in the cache, a
    note ("will be downloaded, N GB") when the hub has it, else :class:`ModelNotFoundError`
    (offline: its remedy names the setting to turn on and, from the kept listing, the size).
    The network is asked only when the model is not cached and the machine is not offline;
    the listing it returns is kept."""
    source = resolve(model_id, layout)
    if Path(source).is_dir():
        return None
    gaps = cache_gaps(model_id, layout, cache_dir=cache_dir)
    if gaps == []:
        return None
    if is_offline():
        where = ("not in the Hugging Face cache" if gaps is None else
                 f"only partly in the Hugging Face cache (missing {', '.join(gaps)})")
        size = offline_download_size(model_id, layout, gaps, cache_dir=cache_dir)
        raise ModelNotFoundError(model_id, f"the machine is offline (HF_HUB_OFFLINE=1) and it is "
                                 f"{where}", remedy=download_remedy(model_id, layout, size=size,
                                                                    missing=gaps))
    from huggingface_hub import HfApi

    try:
        info = HfApi().model_info(model_id, files_metadata=True, timeout=15)
    except Exception as exc:  # network down, no such repository, gated: all the same to a user
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ModelNotFoundError(model_id, f"it is not cached and could not be reached ({first})",
                                 remedy=download_remedy(model_id, layout)) from None
    files = {s.rfilename: s.size or 0 for s in (info.siblings or [])}
    try:
        record_listing(model_id, files, cache_dir)
    except OSError as exc:  # a read-only cache: the size just cannot be told offline later
        log.warning("could not keep the file listing of %s: %s", model_id, exc)
    size = fetched_bytes(files, layout, gaps)
    return f"{model_id} will be downloaded on first use ({format_size(size)})"
