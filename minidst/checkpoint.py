"""Checkpoints: nested state as one ``.npz`` file, written atomically, read without pickle.

A training state is a tree of dicts and lists whose leaves are arrays or numbers (see
``Agent.state_dict`` in ``agent.py``). :func:`flatten` turns it into
``{"networks/actor/0/data": array, ...}``; NumPy's ``.npz`` (a zip of ``.npy`` files) stores
that with no pickle, so loading a file cannot run code. Small non-array state (counters,
random-generator states) travels as JSON text in one ``__meta__`` entry.

Atomic write: the file is written under a temporary name in the same folder, flushed to disk,
then renamed over the old one. A crash or Ctrl-C mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

META_KEY = "__meta__"


class CheckpointError(ValueError):
    """A checkpoint that is missing, unreadable, or not the one expected (a one-line message)."""


def flatten(tree, prefix: str = "") -> dict[str, np.ndarray]:
    """``{"a": [x, y]}`` -> ``{"a/0": x, "a/1": y}``; leaves become arrays."""
    if isinstance(tree, dict):
        items = tree.items()
    elif isinstance(tree, (list, tuple)):
        items = enumerate(tree)
    else:
        return {prefix.rstrip("/"): np.asarray(tree)}
    flat: dict[str, np.ndarray] = {}
    for key, value in items:
        flat.update(flatten(value, f"{prefix}{key}/"))
    return flat


def unflatten(flat: dict[str, np.ndarray]):
    """Inverse of :func:`flatten`: a dict whose keys are exactly ``0..n-1`` becomes a list, and
    0-d arrays become Python numbers."""
    tree: dict = {}
    for key, value in flat.items():
        node = tree
        *parents, leaf = key.split("/")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value.item() if value.ndim == 0 else value
    return _lists_from_digit_dicts(tree)


def _lists_from_digit_dicts(node):
    if not isinstance(node, dict):
        return node
    node = {key: _lists_from_digit_dicts(value) for key, value in node.items()}
    if node and sorted(node) == sorted(str(i) for i in range(len(node))):
        return [node[str(i)] for i in range(len(node))]
    return node


def save_checkpoint(path: str | Path, state: dict, meta: dict) -> None:
    """Write ``state`` (a tree of arrays) and ``meta`` (JSON-able) to ``path`` atomically."""
    path = Path(path)
    arrays = flatten(state)
    arrays[META_KEY] = np.array(json.dumps(meta))
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with open(temporary, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def load_checkpoint(path: str | Path) -> tuple[dict, dict]:
    """Read ``(state, meta)`` from :func:`save_checkpoint`; CheckpointError if it cannot."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    if not zipfile.is_zipfile(path):
        # np.load would try to unpickle it, and answer with advice about allow_pickle.
        raise CheckpointError(f"checkpoint {path} is corrupt (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        meta = json.loads(str(arrays.pop(META_KEY)))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"checkpoint {path} is corrupt or unreadable ({error})") from None
    return unflatten(arrays), meta
