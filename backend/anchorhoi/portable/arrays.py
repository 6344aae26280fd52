"""Safe loading and checking of ``.npz`` arrays, with errors that name the key and the problem."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np


class MotionFileError(ValueError):
    """A motion, result or model file that cannot be used; the message says why and what to do."""

    def __init__(self, path: str | os.PathLike, message: str, *, key: str | None = None):
        self.path = str(path)
        self.key = key
        where = f"{Path(path).name}: " + (f"'{key}': " if key else "")
        super().__init__(where + message)


MAX_NPZ_BYTES = 4 << 30
"""Largest unpacked size of an ``.npz`` read (4 GiB): a zip bomb is refused before it is
unpacked."""


def load_npz(path: str | os.PathLike, keys: tuple[str, ...] | None = None,
             max_bytes: int = MAX_NPZ_BYTES) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` file (all, or those of ``keys`` that it has), without pickle.

    A truncated or corrupt file, a single ``.npy`` array, an archive unpacking to more than
    ``max_bytes`` and object arrays (which would need unpickling) are rejected with a
    :class:`MotionFileError`.
    """
    path = Path(path)
    if not path.is_file():
        raise MotionFileError(path, "file not found")
    try:
        with open(path, "rb") as fh:
            single_array = fh.read(6) == b"\x93NUMPY"
        loaded = None if single_array else np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise MotionFileError(path, "not an .npz archive (a single .npy array renamed?); "
                                  "save it with numpy.savez")
        with loaded as data:
            unpacked = sum(info.file_size for info in data.zip.infolist())
            if unpacked > max_bytes:
                raise MotionFileError(path, f"unpacks to {unpacked >> 20} MiB, over the limit "
                                      f"of {max_bytes >> 20} MiB")
            out = {}
            for key in data.files if keys is None else [k for k in keys if k in data.files]:
                try:
                    out[key] = data[key]
                except ValueError as exc:
                    if "allow_pickle" in str(exc):
                        raise MotionFileError(
                            path, "holds Python objects, which are never unpickled; "
                            "save it with plain numeric/string arrays", key=key) from None
                    raise MotionFileError(path, f"unreadable array ({exc})", key=key) from None
                except (zipfile.BadZipFile, EOFError, OSError) as exc:
                    raise MotionFileError(
                        path, f"truncated or corrupt data ({exc}); re-export the file",
                        key=key) from None
            return out
    except MotionFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise MotionFileError(
            path, f"not a readable .npz archive — truncated or corrupt ({exc})") from None


def require(path, arrays: dict[str, np.ndarray], key: str) -> np.ndarray:
    if key not in arrays:
        raise MotionFileError(path, "missing key", key=key)
    return arrays[key]


def float_array(path, arrays, key: str, shape: tuple[int | None, ...]) -> np.ndarray:
    """The array under ``key`` as float64, checked for dtype, shape (None = any) and finiteness."""
    a = require(path, arrays, key)
    if a.dtype.kind not in "fiu" or a.dtype == np.bool_:
        raise MotionFileError(path, f"expected numbers, got dtype {a.dtype}", key=key)
    check_shape(path, key, a, shape)
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        first = tuple(int(i) for i in bad)
        raise MotionFileError(path, f"contains NaN/Inf (first at index {first})", key=key)
    return a


def int_array(path, arrays, key: str, shape: tuple[int | None, ...]) -> np.ndarray:
    a = require(path, arrays, key)
    if a.dtype.kind not in "iu":
        raise MotionFileError(path, f"expected integers, got dtype {a.dtype}", key=key)
    check_shape(path, key, a, shape)
    return a.astype(np.int64)


def string_value(path, arrays, key: str) -> str:
    a = require(path, arrays, key)
    if a.dtype.kind not in "US" or a.size != 1:
        raise MotionFileError(path, f"expected a single string, got {a.dtype} {a.shape}", key=key)
    v = a.reshape(()).item()
    return v.decode() if isinstance(v, bytes) else str(v)


def check_shape(path, key: str, a: np.ndarray, shape: tuple[int | None, ...]) -> None:
    ok = a.ndim == len(shape) and all(s is None or s == n for s, n in zip(shape, a.shape))
    if not ok:
        want = "(" + ", ".join("N" if s is None else str(s) for s in shape) + ")"
        raise MotionFileError(path, f"expected shape {want}, got {tuple(a.shape)}", key=key)


def check_frames(path, arrays: dict[str, np.ndarray], keys: list[str]) -> int:
    """All ``keys`` (present ones) have the same first dimension; returns it."""
    counts = {k: arrays[k].shape[0] for k in keys if k in arrays}
    first = next(iter(counts))
    for k, n in counts.items():
        if n != counts[first]:
            raise MotionFileError(
                path, f"has {n} frames but '{first}' has {counts[first]}: frame counts disagree",
                key=k)
    if counts[first] < 1:
        raise MotionFileError(path, "has no frames", key=first)
    return int(counts[first])


def atomic_write(path: str | os.PathLike, write, mode: str = "wb") -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place, so
    no reader ever sees half a file; on failure nothing is left behind."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, mode, encoding=None if "b" in mode else "utf-8") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)  # the rename itself survives a power cut
    finally:
        if tmp.exists():
            tmp.unlink()


def fsync_dir(folder: str | os.PathLike) -> None:
    """Flush ``folder``'s entries (a rename into it) to disk; a no-op where directories cannot
    be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_npz_atomic(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write an uncompressed ``.npz`` atomically."""
    atomic_write(path, lambda fh: np.savez(fh, **arrays))


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    atomic_write(path, lambda fh: fh.write(text), mode="w")
