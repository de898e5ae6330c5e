"""The HTTP client that talks to the candidate ROR server: bounded, redacting, never hanging."""
from harness.http.client import HttpResult, TargetClient
from harness.http.preflight import preflight
from harness.http.settings import ClientSettings, OAuth2Settings, RorHeaders

__all__ = ["ClientSettings", "HttpResult", "OAuth2Settings", "RorHeaders", "TargetClient", "preflight"]
