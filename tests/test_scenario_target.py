"""Target profiles (--target-config): what loads, secrets from the environment, located problems."""
from __future__ import annotations

import textwrap

import pytest

from harness.scenario import FileError
from harness.scenario.target import build_profile, load_target

PROFILE = """\
base_url: https://ror.example.test/fhir
auth:
  token_url: https://ror.example.test/token
  client_id: editeur
  client_secret_env: ROR_TEST_SECRET
ror_headers:
  profil_utilisateur_code: CU22
timeouts: {connect: 2, total: 20}
facts:
  service: {id: hs-9}
"""


def write(tmp_path, text: str):
    path = tmp_path / "target.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_profile_loads_with_its_secret_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ROR_TEST_SECRET", "s3cret")
    profile = load_target(write(tmp_path, PROFILE))
    s = profile.settings
    assert (s.base_url, s.connect_timeout_s, s.total_timeout_s) == ("https://ror.example.test/fhir", 2, 20)
    assert s.oauth2.client_secret == "s3cret" and s.ror_headers.profil_utilisateur_code == "CU22"
    assert profile.facts == {"service": {"id": "hs-9"}} and profile.name == "https://ror.example.test/fhir"
    assert "s3cret" not in repr(s)


def test_problems_are_located(tmp_path, monkeypatch):
    monkeypatch.delenv("ROR_TEST_SECRET", raising=False)
    with pytest.raises(FileError) as caught:
        load_target(write(tmp_path, PROFILE))
    assert str(caught.value).endswith("target.yaml:5: auth.client_secret_env: environment variable ROR_TEST_SECRET is not set")
    with pytest.raises(FileError) as caught:
        load_target(write(tmp_path, PROFILE.replace("  client_id: editeur\n", "") + "tls: {client_cert: nope.pem}\n"))
    text = str(caught.value)
    assert "target.yaml:2: auth.client_id: required field is missing" in text
    with pytest.raises(FileError) as caught:
        load_target(write(tmp_path, "base_url: https://x\ntls: {client_cert: nope.pem}\n"))
    assert "target.yaml:2: tls.client_cert: file not found" in str(caught.value)


def test_command_line_options_override_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ROR_TEST_SECRET", "s3cret")
    path = write(tmp_path, PROFILE)
    pem = tmp_path / "ca.pem"
    pem.write_text("x", encoding="utf-8")
    profile = build_profile("https://other.test/fhir", str(path), ca_bundle=str(pem))
    assert profile.settings.base_url == "https://other.test/fhir" and profile.settings.ca_bundle == str(pem.resolve())
    assert profile.facts["service"]["id"] == "hs-9"
    assert build_profile(None, None) is None
    assert build_profile("http://x.test", None).facts == {}
    with pytest.raises(ValueError, match="--client-cert: file not found"):
        build_profile("http://x.test", None, client_cert=str(tmp_path / "missing.pem"))


def test_other_credentials_and_the_expired_token(tmp_path, monkeypatch):
    monkeypatch.setenv("ROR_TEST_SECRET", "s3cret")
    monkeypatch.setenv("ROR_PUBLIC_SECRET", "pub-s3cret")
    monkeypatch.setenv("ROR_EXPIRED", "expired.token.value")
    extra = """\
auth_profile0: {token_url: https://ror.example.test/token, client_id: public, client_secret_env: ROR_PUBLIC_SECRET}
expired_token_env: ROR_EXPIRED
"""
    profile = load_target(write(tmp_path, PROFILE + extra))
    assert profile.other_auth["profile0"].client_id == "public" and profile.other_auth["profile0"].client_secret == "pub-s3cret"
    assert profile.expired_token == "expired.token.value" and "expired.token.value" not in repr(profile)
    assert [c for c in ("auth_profile0", "auth_read_only", "expired_token", "client_cert") if profile.has(c)] == \
        ["auth_profile0", "expired_token"]
    monkeypatch.delenv("ROR_EXPIRED")
    with pytest.raises(FileError) as caught:
        load_target(write(tmp_path, PROFILE + extra))
    assert "expired_token_env: environment variable ROR_EXPIRED is not set" in str(caught.value)
