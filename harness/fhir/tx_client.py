"""Ask a FHIR terminology server `ValueSet/$validate-code` when the offline check cannot decide.

Why this shape: the server is optional infrastructure, so every failure (unreachable, slow,
non-FHIR answer) yields "no answer" with the reason, never an error of the validated resource.
After a connection failure or a timeout the server is considered down for the rest of the run:
thousands of codes must not each wait for the timeout.
"""
from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class TxAnswer:
    """The server's verdict: `result` None when it gave none (then `message` says why)."""

    result: bool | None
    message: str


class TxClient:
    """One terminology server; answers are cached per (value set, system, code)."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._client = httpx.Client(timeout=timeout, headers={"Accept": "application/fhir+json"})
        self._answers: dict[tuple[str, str | None, str], TxAnswer] = {}
        self._down: str | None = None

    def close(self) -> None:
        self._client.close()

    def validate_code(self, valueset: str, system: str | None, code: str) -> TxAnswer:
        key = (valueset, system, code)
        if key in self._answers:
            return self._answers[key]
        if self._down:
            return TxAnswer(None, f"terminology server {self.base_url} failed earlier in this run ({self._down})")
        params = {"url": valueset, "code": code}
        if system:
            params["system"] = system
        try:
            response = self._client.get(f"{self.base_url}/ValueSet/$validate-code", params=params)
        except httpx.TimeoutException:
            self._down = f"no answer within {self.timeout:g} s"
            return TxAnswer(None, f"terminology server {self.base_url}: {self._down}")
        except httpx.HTTPError as exc:
            self._down = f"{type(exc).__name__}: {exc}"
            return TxAnswer(None, f"terminology server {self.base_url} unreachable ({self._down})")
        answer = read_validate_code(response)
        if answer.result is not None:
            self._answers[key] = answer
        return answer


def read_validate_code(response: httpx.Response) -> TxAnswer:
    """Read the `result` (and `message`) out-parameters of a $validate-code answer."""
    where = f"terminology server answer (HTTP {response.status_code})"
    try:
        body = response.json()
    except ValueError:
        return TxAnswer(None, f"{where} is not JSON")
    if not isinstance(body, dict):
        return TxAnswer(None, f"{where} is not a FHIR resource")
    if body.get("resourceType") == "OperationOutcome":
        details = "; ".join(str(i.get("diagnostics") or (i.get("details") or {}).get("text") or i.get("code"))
                            for i in body.get("issue") or [] if isinstance(i, dict))
        return TxAnswer(None, f"{where} is an OperationOutcome: {details or 'no details'}")
    if body.get("resourceType") != "Parameters":
        return TxAnswer(None, f"{where} is not a Parameters resource")
    if response.status_code != 200:
        return TxAnswer(None, f"{where}: unexpected status for a Parameters answer")
    params = {p.get("name"): p for p in body.get("parameter") or [] if isinstance(p, dict)}
    result = params.get("result", {}).get("valueBoolean")
    if not isinstance(result, bool):
        return TxAnswer(None, f"{where} has no boolean 'result' parameter")
    message = params.get("message", {}).get("valueString")
    return TxAnswer(result, message if isinstance(message, str) else "")
