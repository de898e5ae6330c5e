"""Result snapshots behind page links: every page of one search comes from one frozen id list.

Why snapshots and not OFFSET re-runs: a client walking 50 pages while the data changes must
see each matching resource exactly once and a constant `total` (the harness checks exactly
that on vendor servers, so the reference must do it). Snapshots live in memory (the reference
server is one process), bounded in number and age; an expired token is a 410, never a silent
re-run.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from harness.refserver.search.errors import SearchError


@dataclass
class Snapshot:
    key: str          # the normalised query it answers (a token only serves the same query)
    rids: list[int]   # matches in order
    created: float


class Snapshots:
    """An LRU of result snapshots: `add()` returns an id, `get()` finds it or raises 410."""

    def __init__(self, max_entries: int = 64, ttl_seconds: float = 1800.0) -> None:
        self.max_entries = max_entries
        self.ttl = ttl_seconds
        self._items: OrderedDict[str, Snapshot] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, snapshot: Snapshot) -> str:
        sid = secrets.token_hex(8)
        with self._lock:
            self._items[sid] = snapshot
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return sid

    def get(self, sid: str, key: str) -> Snapshot:
        with self._lock:
            snap = self._items.get(sid)
            if snap is not None and time.monotonic() - snap.created > self.ttl:
                del self._items[sid]
                snap = None
            if snap is not None:
                self._items.move_to_end(sid)
        if snap is None:
            raise SearchError("this page link has expired or is unknown: run the search again",
                              status=410, code="not-found", parameter="_page")
        if snap.key != key:
            raise SearchError("this page link belongs to another search (the parameters differ)",
                              parameter="_page")
        return snap


def page_token(sid: str, offset: int) -> str:
    return f"{sid}-{offset}"


def parse_token(token: str) -> tuple[str, int]:
    sid, _, offset = token.partition("-")
    if not sid or not offset.isdigit():
        raise SearchError(f"_page: {token!r} is not a page token of this server", parameter="_page")
    return sid, int(offset)
