"""Search for the reference server: parameter registry (IG defects corrected), index extraction
at write time, query parsing (URL parameters and `_filter`), SQL, includes, paging, distances.

Entry points: `SearchEngine(store).search(...)`, `SearchResult`, `SearchError`.
"""
from harness.refserver.search.engine import (
    DEFAULT_COUNT,
    MAX_COUNT,
    SearchEngine,
    SearchResult,
)
from harness.refserver.search.errors import SearchError

__all__ = ["DEFAULT_COUNT", "MAX_COUNT", "SearchEngine", "SearchError", "SearchResult"]
