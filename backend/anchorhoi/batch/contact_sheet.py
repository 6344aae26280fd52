"""``DIR/contact_sheet.png``: every job of a batch on one page, its key pose at a glance.

Each job is a tile: the first view (the leftmost square) of the anchor stage's
``anchor/fit_preview.png`` (the fitted body with the object, a strip of turntable views), with
the job's id and prompt written under it in Pillow's default font. A job without a preview is a
grey tile saying why: a failed job shows its error code, a pending, running or cancelled job its
status, a done job whose preview does not read "no preview".

Bounded size: tiles are ``tile_px`` square whatever the previews' size, and a page holds at most
``columns × rows`` jobs; a larger batch gets further pages ``contact_sheet_2.png``,
``contact_sheet_3.png``, … (pages left from an earlier, larger run of the same batch are removed).
Every page is written atomically.

Bounded work: the runner rewrites the sheet whenever a job ends, so a page whose inputs did not
change (its jobs' ids, prompts, statuses, error codes and preview files' size and time, the
layout) is left as it is: each page carries the hash of its inputs in a PNG text chunk, read
back from the page's header. A job's end redraws its own page only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

from ..anchor.output import FIT_PREVIEW_FILE
from ..portable.arrays import atomic_write
from .records import JobRecord

CONTACT_SHEET = "contact_sheet.png"
INPUTS_KEY = "anchorhoi-inputs"
"""PNG text chunk holding the hash of what a page shows."""
ANCHOR_FOLDER = "anchor"
"""The anchor stage's folder in a job folder (the job's layout, docs/architecture.md)."""
MAX_PREVIEW_BYTES = 32 << 20
"""Largest preview file opened (a real one has tens of kB)."""
MAX_PREVIEW_PIXELS = 4096 * 4096
"""Largest preview decoded (width × height); a larger one is shown as unreadable."""
_GREY = (96, 96, 96)
_BACKGROUND = (32, 32, 32)
_TEXT = (235, 235, 235)
_FAILED = (255, 120, 110)


@dataclass(frozen=True, kw_only=True)
class ContactSheetConfig:
    """The contact sheet's layout."""

    tile_px: int = 192
    """Side of each job's picture, pixels (previews are scaled to it)."""
    columns: int = 6
    """Jobs per row."""
    rows: int = 8
    """Rows per page; more jobs than ``columns × rows`` go on further pages."""
    label_lines: int = 2
    """Text lines under each tile: the id, then the prompt (cut to the tile's width)."""

    def __post_init__(self) -> None:
        if self.tile_px < 32 or self.columns < 1 or self.rows < 1 or self.label_lines < 1:
            raise ValueError("ContactSheetConfig wants tile_px ≥ 32 and columns, rows, "
                             f"label_lines ≥ 1, got {self}")


def write_contact_sheet(out_dir: str | os.PathLike, records: Sequence[JobRecord],
                        config: ContactSheetConfig = ContactSheetConfig()) -> list[Path]:
    """Write the contact sheet of ``records`` (their folders relative to ``out_dir``) as one
    or more pages; returns their paths, ``out_dir/contact_sheet.png`` first. A batch with no
    job gets one empty page saying so."""
    out_dir = Path(out_dir)
    per_page = config.columns * config.rows
    chunks = [records[i:i + per_page] for i in range(0, len(records), per_page)] or [[]]
    font = ImageFont.load_default()
    paths = []
    for number, chunk in enumerate(chunks, start=1):
        path = out_dir / page_name(number)
        inputs = _inputs_hash(out_dir, chunk, config)
        if not _is_current(path, inputs):
            info = PngInfo()
            info.add_text(INPUTS_KEY, inputs)
            buf = io.BytesIO()
            _page(out_dir, chunk, config, font).save(buf, format="PNG", pnginfo=info)
            atomic_write(path, lambda fh, data=buf.getvalue(): fh.write(data))
        paths.append(path)
    _remove_pages_after(out_dir, len(chunks))
    return paths


def page_name(number: int) -> str:
    """File name of page ``number`` (1: ``contact_sheet.png``, 2: ``contact_sheet_2.png``)."""
    return CONTACT_SHEET if number == 1 else f"contact_sheet_{number}.png"


def _inputs_hash(out_dir: Path, records: Sequence[JobRecord],
                 config: ContactSheetConfig) -> str:
    """A hash of everything a page shows: the layout, each job's id, prompt, status, error
    code and (done) its preview file's size and modification time."""
    parts: list = [asdict(config), len(records)]
    for r in records:
        stamp = None
        if r.status == "done":
            try:
                st = (out_dir / r.folder / ANCHOR_FOLDER / FIT_PREVIEW_FILE).stat()
                stamp = [st.st_mtime_ns, st.st_size]
            except OSError:
                pass
        parts.append([r.id, r.prompt, r.status, r.error_code, stamp])
    text = json.dumps(parts, sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:32]


def _is_current(path: Path, inputs: str) -> bool:
    """Whether the page at ``path`` shows ``inputs`` already (only its header is read)."""
    try:
        with Image.open(path) as img:
            return img.format == "PNG" and img.info.get(INPUTS_KEY) == inputs
    except (OSError, ValueError, Image.DecompressionBombError):
        return False


def _remove_pages_after(out_dir: Path, count: int) -> None:
    pattern = re.compile(r"contact_sheet_(\d+)\.png")
    for path in out_dir.glob("contact_sheet_*.png"):
        match = pattern.fullmatch(path.name)
        if match and int(match.group(1)) > count and path.is_file():
            path.unlink()


def _page(out_dir: Path, records: Sequence[JobRecord], config: ContactSheetConfig,
          font) -> Image.Image:
    line_px = _line_height(font)
    cell_w, cell_h = config.tile_px, config.tile_px + config.label_lines * line_px + 6
    gap = 4
    columns = max(1, min(config.columns, len(records)))
    rows = max(1, -(-len(records) // config.columns))
    page = Image.new("RGB", (columns * (cell_w + gap) + gap, rows * (cell_h + gap) + gap),
                     _BACKGROUND)
    draw = ImageDraw.Draw(page)
    if not records:
        draw.text((gap, gap), "no jobs", fill=_TEXT, font=font)
    for index, record in enumerate(records):
        x = gap + (index % config.columns) * (cell_w + gap)
        y = gap + (index // config.columns) * (cell_h + gap)
        page.paste(_tile(out_dir, record, config.tile_px, font), (x, y))
        lines = [record.id, record.prompt][:config.label_lines]
        for n, text in enumerate(lines):
            draw.text((x + 2, y + config.tile_px + 3 + n * line_px),
                      _fit(draw, _drawable(text), font, cell_w - 4), fill=_TEXT, font=font)
    return page


def _tile(out_dir: Path, record: JobRecord, size: int, font) -> Image.Image:
    """The job's picture, ``size`` square: its preview's first view, or a grey tile with the
    reason there is none."""
    if record.status == "done":
        preview = _first_view(out_dir / record.folder / ANCHOR_FOLDER / FIT_PREVIEW_FILE)
        if preview is not None:
            return preview.resize((size, size), Image.Resampling.BILINEAR)
        words, colour = ["no preview"], _TEXT
    elif record.status == "failed":
        words, colour = ["FAILED", record.error_code or "no error code"], _FAILED
    else:
        words, colour = [record.status.upper()], _TEXT
    tile = Image.new("RGB", (size, size), _GREY)
    draw = ImageDraw.Draw(tile)
    line_px = _line_height(font)
    top = (size - len(words) * line_px) // 2
    for n, text in enumerate(words):
        text = _fit(draw, _drawable(text), font, size - 4)
        left = (size - draw.textlength(text, font=font)) / 2
        draw.text((left, top + n * line_px), text, fill=colour, font=font)
    return tile


def _first_view(path: Path) -> Image.Image | None:
    """The leftmost square of the preview strip (RGB), None when it is missing, too large or
    does not decode."""
    try:
        if path.stat().st_size > MAX_PREVIEW_BYTES:
            return None
        with Image.open(path) as img:
            w, h = img.size
            if w * h > MAX_PREVIEW_PIXELS or w < 1 or h < 1:
                return None
            side = min(w, h)
            return img.convert("RGB").crop((0, 0, side, side))
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def _line_height(font) -> int:
    _, top, _, bottom = font.getbbox("Ag")
    return int(bottom - min(top, 0)) + 3


def _drawable(text: str) -> str:
    """``text`` on one line in characters the default font draws (Latin-1; others → ?)."""
    text = " ".join(text.split())
    return text.encode("latin-1", "replace").decode("latin-1")


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: float) -> str:
    """``text`` cut to ``width`` pixels, ending in ``...`` when cut."""
    text = text[:400]
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "...", font=font) > width:
        text = text[:-1]
    return text + "..."
