"""The target profile (`--target-config target.yaml`): how to reach a candidate server, and the
sample data (facts) it holds that scenarios refer to as `{{ facts.x }}`.

Why facts live with the target: a scenario must run unchanged against any ROR server, so it
never names an identifier; each vendor says once, here, which of its records play which role.
Secrets come from the environment (`client_secret_env`) so the file can be committed.
"""
from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from harness.http import ClientSettings, OAuth2Settings, RorHeaders
from harness.redaction import register_secret
from harness.scenario.errors import FileError
from harness.scenario.loader import schema_problems
from harness.scenario.yamlsource import Document, read

SCHEMA_PATH = Path(__file__).with_name("target.schema.json")


@dataclass(frozen=True)
class TargetProfile:
    settings: ClientSettings
    facts: dict[str, Any] = field(default_factory=dict)
    label: str = ""
    #: Other credentials, by the name a step's `auth` gives: "profile0" (access profile 0),
    #: "read_only" (no write rights). Used only by the steps that ask for them.
    other_auth: dict[str, OAuth2Settings] = field(default_factory=dict)
    #: A token the target issued and that has expired (auth: expired).
    expired_token: str | None = field(default=None, repr=False)

    def has(self, credential: str) -> bool:
        """Does the profile give this credential (auth_profile0, auth_read_only, expired_token, client_cert)?"""
        if credential.startswith("auth_"):
            return credential[len("auth_"):] in self.other_auth
        if credential == "expired_token":
            return bool(self.expired_token)
        if credential == "client_cert":
            return bool(self.settings.client_cert)
        return False

    @property
    def name(self) -> str:
        return self.label or self.settings.base_url


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))


def load_target(path: Path) -> TargetProfile:
    """Read and check a target profile; FileError (file, line, field) when it is wrong."""
    doc = read(path)
    if not isinstance(doc.data, dict):
        raise FileError([doc.problem((), "a target profile is one YAML mapping (base_url:, auth:, facts:, ...)")])
    problems = [p for error in _validator().iter_errors(doc.data) for p in schema_problems(doc, error)]
    if problems:
        raise FileError(problems)
    return from_mapping(doc, path.parent)


def _oauth2(doc: Document, key: str) -> OAuth2Settings | None:
    auth = doc.data.get(key)  # type: ignore[union-attr]
    if not auth:
        return None
    secret = auth.get("client_secret")
    if "client_secret_env" in auth:
        secret = os.environ.get(auth["client_secret_env"])
        if secret is None:
            raise FileError([doc.problem((key, "client_secret_env"),
                                         f"environment variable {auth['client_secret_env']} is not set")])
    if secret is None:
        raise FileError([doc.problem((key,), "give client_secret_env (or client_secret)")])
    return OAuth2Settings(auth["token_url"], auth["client_id"], secret, auth.get("scope", ""),
                          auth.get("client_auth", "basic"))


def _expired_token(doc: Document) -> str | None:
    data: dict = doc.data  # type: ignore[assignment]
    if "expired_token_env" in data:
        token = os.environ.get(data["expired_token_env"])
        if token is None:
            raise FileError([doc.problem(("expired_token_env",),
                                         f"environment variable {data['expired_token_env']} is not set")])
        return token
    return data.get("expired_token")


def from_mapping(doc: Document, folder: Path) -> TargetProfile:
    data: dict = doc.data  # type: ignore[assignment]
    oauth2 = _oauth2(doc, "auth")
    other_auth = {name: settings for name in ("profile0", "read_only")
                  if (settings := _oauth2(doc, f"auth_{name}")) is not None}
    expired_token = _expired_token(doc)
    register_secret(expired_token)
    tls = data.get("tls", {})
    timeouts = data.get("timeouts", {})

    def local(name: str) -> str | None:
        return str((folder / tls[name]).resolve()) if name in tls else None

    for name in ("ca_bundle", "client_cert", "client_key"):
        if name in tls and not (folder / tls[name]).is_file():
            raise FileError([doc.problem(("tls", name), f"file not found: {folder / tls[name]}")])
    try:
        settings = ClientSettings(
            base_url=data["base_url"], connect_timeout_s=timeouts.get("connect", 5.0),
            read_timeout_s=timeouts.get("read", 30.0), total_timeout_s=timeouts.get("total", 60.0),
            max_body_bytes=data.get("max_body_bytes", 20 * 1024 * 1024), verify_tls=tls.get("verify", True),
            ca_bundle=local("ca_bundle"), client_cert=local("client_cert"), client_key=local("client_key"),
            oauth2=oauth2, ror_headers=RorHeaders(**data.get("ror_headers", {})))
    except ValueError as exc:
        raise FileError([doc.problem((), str(exc))]) from None
    return TargetProfile(settings, dict(data.get("facts") or {}), data.get("label", ""), other_auth, expired_token)


def build_profile(target: str | None = None, config: str | None = None, *, client_cert: str | None = None,
                  client_key: str | None = None, ca_bundle: str | None = None) -> TargetProfile | None:
    """The target from command-line options: a profile file, a URL (overrides the file's), TLS files.

    None when neither a URL nor a file is given (the caller then uses the embedded server).
    FileError for a broken profile; ValueError for inconsistent options.
    """
    if not target and not config:
        return None
    profile = load_target(Path(config)) if config else TargetProfile(ClientSettings(base_url=target or ""))
    overrides: dict[str, Any] = {}
    if target:
        overrides["base_url"] = target
    for name, value in (("client_cert", client_cert), ("client_key", client_key), ("ca_bundle", ca_bundle)):
        if value:
            if not Path(value).is_file():
                raise ValueError(f"--{name.replace('_', '-')}: file not found: {value}")
            overrides[name] = str(Path(value).resolve())
    if overrides:
        profile = dataclasses.replace(profile, settings=dataclasses.replace(profile.settings, **overrides))
    return profile
