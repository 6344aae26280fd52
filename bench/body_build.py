#!/usr/bin/env python3
"""Time to generate the procedural body (numpy, as in Blender's Python) and to build the
``BodyModel`` (smplx layer) from it, plus one forward pass of 60 frames. One JSON line."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "backend"))


def main() -> int:
    import torch

    from anchorhoi.body import BodyModel
    from anchorhoi.portable.procedural_body import build_procedural_model

    t0 = time.perf_counter()
    model = build_procedural_model()
    generate_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    body = BodyModel()
    body_model_s = time.perf_counter() - t0
    eye = torch.eye(3).expand(60, 55, 3, 3)
    with torch.no_grad():
        t0 = time.perf_counter()
        body(global_orient=eye[:, 0], body_pose=eye[:, 1:22])
        forward_s = time.perf_counter() - t0
    print(json.dumps({"vertices": int(model["v_template"].shape[0]),
                      "generate_s": round(generate_s, 3), "body_model_s": round(body_model_s, 3),
                      "forward_60_frames_s": round(forward_s, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
