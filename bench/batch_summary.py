#!/usr/bin/env python3
"""What one rewrite of a batch's summary costs (the runner rewrites it whenever a job starts or
ends): reading every job folder into a record, writing ``batch.json`` + ``batch.csv``, and
drawing the contact sheet, for batches of N finished jobs made by hand in a temporary folder
(the shapes a job writes: ``state.json``, ``result.json`` with quality and plausibility, a
``anchor/fit_preview.png`` strip of six 160² views as the standard preset draws it, filled
with noise: the worst case for PNG decoding and encoding).

One JSON line per N: ``records_s``, ``summary_s``, ``contact_sheet_s`` (wall seconds of one
pass each, the sheet drawn from scratch), ``pages``, ``per_job_ms`` (all three, per job),
``contact_sheet_unchanged_s`` (the sheet again, nothing changed) and
``contact_sheet_one_job_s`` (again after one job's preview changed: its page is redrawn).
Usage: ``batch_summary.py [N…]`` (default 10 100 500).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))

STAGES = ("anchor", "video", "keypoints", "motion")


def make_job(folder: Path, seed: int, preview_png: bytes) -> None:
    """A finished job folder: state.json, result.json, the fit preview."""
    folder.mkdir(parents=True)
    stages = {s: {"fingerprint": "f", "seconds": 10.0 * (i + 1) + seed % 7,
                  "peak_rss_mb": 20000.0 + seed, "peak_vram_mb": 11000.0}
              for i, s in enumerate(STAGES)}
    (folder / "state.json").write_text(json.dumps({"version": 1, "stages": stages}))
    figure = {"value": 1.0, "unit": "mm", "limit": 10.0, "status": "pass", "better": "lower"}
    result = {"schema": "anchorhoi.result", "version": "1.1", "name": "clip", "prompt": "p",
              "fps": 24.0, "frame_count": 72, "units": "meters", "up_axis": "Z",
              "body_model": {"kind": "procedural", "gender": "neutral", "num_betas": 10},
              "object": None, "files": {"motion": "motion.npz"},
              "timings": {k: {kk: vv for kk, vv in v.items() if kk != "fingerprint"}
                          for k, v in stages.items()},
              "quality": {"frames": 72, "reprojection_px_median": 3.2, "foot_skate_mm": 1.1,
                          "plausibility": {f"figure_{i}": figure for i in range(7)}}}
    (folder / "result.json").write_text(json.dumps(result))
    (folder / "anchor").mkdir()
    (folder / "anchor" / "fit_preview.png").write_bytes(preview_png)


def preview_strip() -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    strip = rng.integers(0, 255, (160, 6 * 160, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(strip).save(buf, format="PNG")
    return buf.getvalue()


def main(argv: list[str]) -> int:
    from anchorhoi.batch.contact_sheet import write_contact_sheet
    from anchorhoi.batch.records import record_from_job, write_summary

    sizes = [int(a) for a in argv] or [10, 100, 500]
    png = preview_strip()
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="anchorhoi-batch-bench-") as tmp:
            out = Path(tmp)
            for i in range(n):
                make_job(out / f"job_{i:05d}", i, png)
            t0 = time.perf_counter()
            records = [record_from_job(out / f"job_{i:05d}", id=f"job_{i:05d}",
                                       prompt=f"a person does thing number {i}", status="done")
                       for i in range(n)]
            t1 = time.perf_counter()
            write_summary(out, records)
            t2 = time.perf_counter()
            pages = write_contact_sheet(out, records)
            t3 = time.perf_counter()
            write_contact_sheet(out, records)  # nothing changed
            t4 = time.perf_counter()
            (out / "job_00000" / "anchor" / "fit_preview.png").write_bytes(png + b"\0")
            write_contact_sheet(out, records)  # one job's preview changed: its page only
            t5 = time.perf_counter()
        print(json.dumps({"jobs": n, "records_s": round(t1 - t0, 3),
                          "summary_s": round(t2 - t1, 3), "contact_sheet_s": round(t3 - t2, 3),
                          "pages": len(pages), "per_job_ms": round(1000 * (t3 - t0) / n, 2),
                          "contact_sheet_unchanged_s": round(t4 - t3, 3),
                          "contact_sheet_one_job_s": round(t5 - t4, 3)}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
