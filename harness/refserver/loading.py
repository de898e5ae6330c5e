"""Filling an empty store: a generated dataset (by scale name) or an NDJSON file.

An existing database with resources is never reloaded, so one dataset loaded once can back
many servers (the tests copy a loaded file rather than generating it again).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from harness.refserver.store import Store

SCALES = ("small", "medium")


class DatasetError(ValueError):
    """The dataset cannot be read: the message names the file and line."""


def _ndjson(path: Path) -> Iterator[dict]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise DatasetError(f"cannot read the dataset {path}: {exc.strerror}") from None
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                resource = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                raise DatasetError(f"{path}:{number}: not a FHIR resource (no resourceType)")
            yield resource


def load_dataset(store: Store, dataset: str | Path | None, seed: int = 0) -> int:
    """Load the dataset into an empty store; the number of resources loaded (0 if not empty)."""
    if dataset is None or store.count() > 0:
        return 0
    if isinstance(dataset, str) and dataset in SCALES:
        from harness.dataset.generator import generate  # late: only generated datasets need it

        return store.load(generate(dataset, seed))
    path = Path(dataset)
    if not path.is_file():
        raise DatasetError(f"dataset {dataset!s}: neither {' nor '.join(SCALES)} nor an NDJSON file")
    try:
        return store.load(_ndjson(path))
    except ValueError as exc:
        if isinstance(exc, DatasetError):
            raise
        raise DatasetError(f"{path}: {exc}") from None
