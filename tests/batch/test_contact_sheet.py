"""The contact sheet: one tile per job, the preview's first view, grey labelled tiles for jobs
without one, pages of bounded size."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from helpers.batch_folders import done_job, failed_job
from PIL import Image

from anchorhoi.batch.contact_sheet import ContactSheetConfig, write_contact_sheet
from anchorhoi.batch.records import JobRecord, record_from_job

CONFIG = ContactSheetConfig(tile_px=48, columns=3, rows=2)
FIRST_VIEW, OTHER_VIEWS = (200, 30, 30), (30, 30, 200)
GREY = (96, 96, 96)


def with_preview(folder, size: int = 40, views: int = 6):
    """A done job with a fit_preview.png strip: the first view red, the others blue."""
    done_job(folder)
    strip = np.empty((size, size * views, 3), np.uint8)
    strip[:] = OTHER_VIEWS
    strip[:, :size] = FIRST_VIEW
    (folder / "anchor").mkdir()
    Image.fromarray(strip).save(folder / "anchor" / "fit_preview.png")
    return folder


def first_row_tile(sheet: np.ndarray, column: int, tile_px: int = CONFIG.tile_px) -> np.ndarray:
    """The picture of the job in ``column`` of the first row (4 px gaps around tiles)."""
    x = 4 + column * (tile_px + 4)
    return sheet[4:4 + tile_px, x:x + tile_px]


def colours(image: np.ndarray) -> set[tuple[int, ...]]:
    return {tuple(int(c) for c in p) for p in image.reshape(-1, 3)}


def test_tiles_show_the_first_view_and_failed_jobs_a_grey_tile_with_their_code(tmp_path):
    records = [
        record_from_job(with_preview(tmp_path / "sit"), id="sit", prompt="a person sits",
                        status="done"),
        record_from_job(failed_job(tmp_path / "bad"), id="bad", prompt="lift the box",
                        status="failed", error=("BAD_MESH", "no faces")),
        record_from_job(done_job(tmp_path / "lost"), id="lost", prompt="push", status="done"),
    ]
    (path,) = write_contact_sheet(tmp_path, records, CONFIG)
    assert path == tmp_path / "contact_sheet.png"
    sheet = np.asarray(Image.open(path).convert("RGB"))
    assert colours(first_row_tile(sheet, 0)) == {FIRST_VIEW}  # only the first view, scaled
    failed = first_row_tile(sheet, 1)
    assert GREY in colours(failed) and FIRST_VIEW not in colours(failed)
    assert (failed != GREY).any(axis=-1).sum() > 20  # the code is written on it
    missing = first_row_tile(sheet, 2)
    assert GREY in colours(missing) and (missing != GREY).any(axis=-1).sum() > 20
    assert not list(tmp_path.glob(".*.tmp"))


def test_labels_are_written_under_each_tile(tmp_path):
    def sheet_of(prompt: str) -> np.ndarray:
        r = JobRecord(id="a", prompt=prompt, folder="a", status="pending")
        (path,) = write_contact_sheet(tmp_path, [r], CONFIG)
        return np.asarray(Image.open(path).convert("RGB"))

    short, long = sheet_of("sit"), sheet_of("a person sits on the chair — then stands up")
    assert short.shape == long.shape  # a long prompt is cut to the tile, not widening it
    below = slice(4 + CONFIG.tile_px, None)
    assert (short[below] != long[below]).any()
    assert (short[:4 + CONFIG.tile_px] == long[:4 + CONFIG.tile_px]).all()


def test_many_jobs_go_on_pages_of_bounded_size_and_stale_pages_are_removed(tmp_path):
    records = [JobRecord(id=f"j{i}", prompt="p", folder=f"j{i}", status="pending")
               for i in range(14)]
    paths = write_contact_sheet(tmp_path, records, CONFIG)
    assert [p.name for p in paths] == ["contact_sheet.png", "contact_sheet_2.png",
                                       "contact_sheet_3.png"]
    sizes = [Image.open(p).size for p in paths]
    assert sizes[0] == sizes[1] and sizes[0][0] == 4 + 3 * (CONFIG.tile_px + 4)
    assert sizes[2][1] < sizes[0][1]  # 2 jobs: one row
    (tmp_path / "contact_sheet_notes.png").write_bytes(b"not ours")
    assert len(write_contact_sheet(tmp_path, records[:7], CONFIG)) == 2
    assert not (tmp_path / "contact_sheet_3.png").exists()
    assert (tmp_path / "contact_sheet_notes.png").exists()


def huge_png_header(width: int = 5000, height: int = 4000) -> bytes:
    """The start of a PNG declaring ``width × height`` pixels (refused before decoding)."""
    ihdr = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + ihdr \
        + struct.pack(">I", zlib.crc32(ihdr))


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n broken", None])
def test_an_unreadable_preview_is_a_grey_tile_not_an_error(tmp_path, content):
    job = done_job(tmp_path / "a")
    (job / "anchor").mkdir()
    (job / "anchor" / "fit_preview.png").write_bytes(content or huge_png_header())
    r = record_from_job(job, id="a", prompt="p", status="done")
    (path,) = write_contact_sheet(tmp_path, [r], CONFIG)
    assert GREY in colours(first_row_tile(np.asarray(Image.open(path).convert("RGB")), 0))


def test_an_empty_batch_gets_one_page_saying_so(tmp_path):
    (path,) = write_contact_sheet(tmp_path, [], CONFIG)
    assert np.asarray(Image.open(path)).std() > 0


def test_only_the_pages_whose_jobs_changed_are_redrawn(tmp_path):
    records = [JobRecord(id=f"j{i}", prompt="p", folder=f"j{i}", status="pending")
               for i in range(8)]  # two pages of six
    first, second = write_contact_sheet(tmp_path, records, CONFIG)
    size = Image.open(first).size
    stamps = {p: p.stat().st_mtime_ns for p in (first, second)}
    inodes = {p: p.stat().st_ino for p in (first, second)}

    def rewritten():
        return {p.name for p in (first, second) if p.stat().st_ino != inodes[p]
                or p.stat().st_mtime_ns != stamps[p]}

    assert write_contact_sheet(tmp_path, records, CONFIG) == [first, second]
    assert rewritten() == set()  # nothing changed: nothing drawn or written
    with_preview(tmp_path / "j7")  # the last job ends with a preview: its page only
    records[7] = JobRecord(id="j7", prompt="p", folder="j7", status="done")
    write_contact_sheet(tmp_path, records, CONFIG)
    assert rewritten() == {"contact_sheet_2.png"}
    sheet = np.asarray(Image.open(second).convert("RGB"))
    assert colours(first_row_tile(sheet, 1)) == {FIRST_VIEW}
    first.write_bytes(b"damaged")  # a page that does not read is drawn again
    write_contact_sheet(tmp_path, records, CONFIG)
    assert Image.open(first).size == size
