"""Atomic writes and safe checkpoints. Every stage output goes through these helpers so that an
interrupted job never leaves a half-written file behind under its final name."""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator

from .errors import PaperdagError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed over `path` (atomic on
    POSIX), on failure removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix or ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text(path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def _clean(obj: Any, ndigits: int) -> Any:
    """Round floats so that metrics files are stable text, and turn numpy scalars into Python."""
    if hasattr(obj, "item") and not isinstance(obj, (list, dict, str)) and getattr(obj, "ndim", 0) == 0:
        obj = obj.item()
    if isinstance(obj, float):
        if math.isnan(obj) or math.isinf(obj):
            return None
        return round(obj, ndigits)
    if isinstance(obj, dict):
        return {str(k): _clean(v, ndigits) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v, ndigits) for v in obj]
    if hasattr(obj, "tolist"):
        return _clean(obj.tolist(), ndigits)
    return obj


def write_json(path, obj: Any, ndigits: int = 6) -> None:
    write_text(path, json.dumps(_clean(obj, ndigits), indent=2, sort_keys=True) + "\n")


def read_json(path) -> Any:
    path = Path(path)
    if not path.exists():
        raise PaperdagError(f"{path}: file not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise PaperdagError(f"{path}: not valid JSON ({e}); delete it and rerun to regenerate it") from e


def save_tensors(path, tensors: dict, metadata: dict | None = None) -> None:
    """Save a checkpoint as safetensors, atomically. Metadata values are stored as strings."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().contiguous().cpu() for k, v in tensors.items()}
    meta = {k: json.dumps(v) for k, v in (metadata or {}).items()}
    with atomic_path(path, suffix=".safetensors") as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def load_tensors(path, with_metadata: bool = False):
    """Load a safetensors checkpoint; a missing or corrupt file is a PaperdagError naming it.
    (Pickle-based formats are never read.)"""
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        raise PaperdagError(f"{path}: checkpoint not found")
    try:
        tensors = {}
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            for k in f.keys():
                tensors[k] = f.get_tensor(k)
    except Exception as e:  # safetensors raises its own error types for truncated/corrupt files
        raise PaperdagError(
            f"{path}: corrupt or unreadable safetensors checkpoint ({type(e).__name__}: {e}); "
            "delete it and rerun so that the pipeline rebuilds it"
        ) from e
    if with_metadata:
        return tensors, {k: json.loads(v) for k, v in meta.items()}
    return tensors


def save_npz(path, **arrays) -> None:
    import numpy as np

    with atomic_path(path, suffix=".npz") as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def load_npz(path) -> dict:
    import numpy as np

    path = Path(path)
    if not path.exists():
        raise PaperdagError(f"{path}: file not found")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception as e:
        raise PaperdagError(f"{path}: corrupt or unreadable .npz ({e}); delete it and rerun") from e
