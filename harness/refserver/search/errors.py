"""The one error the search engine raises: a request that cannot be run as asked.

The HTTP layer turns it into an OperationOutcome with `status` and `code`; the engine never lets
a bad value through as a traceback or as a silently empty result.
"""
from __future__ import annotations


class SearchError(Exception):
    """A search request the server refuses (FHIR: 400 invalid / not-supported, 410 expired page)."""

    def __init__(self, diagnostics: str, *, status: int = 400, code: str = "invalid",
                 parameter: str | None = None) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.code = code
        self.diagnostics = diagnostics
        self.parameter = parameter

    def __repr__(self) -> str:
        return f"SearchError({self.status}, {self.code!r}, {self.diagnostics!r})"
