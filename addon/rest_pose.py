"""Put the exported objects at their rest pose for the current frame during an FBX export."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def rest_pose_at_current_frame(context, objects):
    yield
