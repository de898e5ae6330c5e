"""Security of the reference server over real HTTP and real TLS: the token endpoint, bearer
tokens, scopes, the Ror-* headers, and mTLS with certificates generated here."""
from __future__ import annotations

import base64
import ssl
import time

import httpx
import orjson
import pytest

from harness.refserver.config import DEFAULT_CLIENTS, Client, SecurityConfig
from refserver_http_support import MAIN, PUBLIC, ROR_HEADERS, client, make_pki, outcome_codes, seed_db, start, token  # noqa: F401,E501


@pytest.fixture(scope="module")
def server(seed_db, tmp_path_factory):
    running = start(seed_db, tmp_path_factory.mktemp("security"))
    yield running
    running.stop()


def _claims(jwt: str) -> dict:
    body = jwt.split(".")[1]
    return orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


# -- token endpoint -------------------------------------------------------------------------------


def test_client_credentials_give_a_jwt_with_expiry_scope_and_profile(server):
    answer = httpx.post(f"{server.base_url}/token", data={"grant_type": "client_credentials", "client_id": MAIN[0],
                                                         "client_secret": MAIN[1]})
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    claims = _claims(body["access_token"])
    assert claims["exp"] - claims["iat"] == 3600 and claims["ror_profile"] == 1
    assert set(claims["scope"].split()) == {"system/*.read", "system/*.write"}
    basic = base64.b64encode(f"{PUBLIC[0]}:{PUBLIC[1]}".encode()).decode()
    public = httpx.post(f"{server.base_url}/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": f"Basic {basic}"})
    assert public.status_code == 200 and _claims(public.json()["access_token"])["ror_profile"] == 0


@pytest.mark.parametrize("form, status, error", [
    ({"grant_type": "client_credentials", "client_id": MAIN[0], "client_secret": "wrong"}, 401, "invalid_client"),
    ({"grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x"}, 401, "invalid_client"),
    ({"grant_type": "password", "client_id": MAIN[0], "client_secret": MAIN[1]}, 400, "unsupported_grant_type"),
    ({"client_id": MAIN[0], "client_secret": MAIN[1]}, 400, "invalid_request"),
    ({"grant_type": "client_credentials", "client_id": PUBLIC[0], "client_secret": PUBLIC[1],
      "scope": "system/*.write"}, 400, "invalid_scope"),
])
def test_token_refusals_are_oauth_errors(server, form, status, error):
    answer = httpx.post(f"{server.base_url}/token", data=form)
    assert answer.status_code == status and answer.json()["error"] == error


# -- bearer tokens, scopes, headers ---------------------------------------------------------------


@pytest.mark.parametrize("authorization, error", [
    (None, None), ("Basic abc", "invalid_request"), ("Bearer not.a.token", "invalid_token"),
])
def test_missing_or_bad_tokens_are_401_with_www_authenticate(server, authorization, error):
    headers = dict(ROR_HEADERS)
    if authorization:
        headers["Authorization"] = authorization
    answer = httpx.get(f"{server.base_url}/Organization", headers=headers)
    assert answer.status_code == 401 and outcome_codes(answer) == ["login"]
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer realm=")
    assert (f'error="{error}"' in challenge) if error else "error=" not in challenge


def test_a_token_of_another_server_is_refused(server, seed_db, tmp_path):
    other = start(seed_db, tmp_path)
    try:
        foreign = token(other.base_url)
    finally:
        other.stop()
    answer = httpx.get(f"{server.base_url}/Organization", headers={**ROR_HEADERS, "Authorization": f"Bearer {foreign}"})
    assert answer.status_code == 401


def test_expired_tokens_are_refused(seed_db, tmp_path):
    # 2 s, not 1: `exp` has one-second precision, so a 1 s token can expire before its first use on a
    # loaded machine (seen in CI-like runs); the test still proves expiry.
    short = start(seed_db, tmp_path, security=SecurityConfig(token_ttl_seconds=2))
    try:
        with client(short) as api:
            assert api.get("/Task").status_code == 200
            time.sleep(3.1)
            answer = api.get("/Task")
            assert answer.status_code == 401 and 'error="invalid_token"' in answer.headers["www-authenticate"]
    finally:
        short.stop()


def test_a_read_only_token_cannot_write(server):
    with client(server, PUBLIC) as public:
        assert public.get("/Organization").status_code == 200
        answer = public.post("/Organization", json={"resourceType": "Organization"},
                             headers={"Content-Type": "application/fhir+json"})
        assert answer.status_code == 403 and outcome_codes(answer) == ["forbidden"]
        assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]


def test_the_four_ror_headers_are_required(server):
    with client(server) as api:
        for missing in ROR_HEADERS:
            headers = {k: v for k, v in api.headers.items() if k.lower() != missing.lower()}
            answer = httpx.get(f"{server.base_url}/Organization", headers=headers)
            assert answer.status_code == 400 and outcome_codes(answer) == ["required"]
            assert missing in answer.json()["issue"][0]["diagnostics"]


def test_the_capacity_patch_must_not_carry_the_ror_headers(server):
    body = {"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
        {"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "Location.alias"}]}]}
    with client(server) as with_headers:
        refused = with_headers.patch("/Location", params={"identifier": "nothing/here"}, json=body,
                                     headers={"Content-Type": "application/fhir+json"})
        assert refused.status_code == 400 and outcome_codes(refused) == ["invalid"]
    with client(server, ror_headers=False) as bare:
        answer = bare.patch("/Location", params={"identifier": "nothing/here"}, json=body,
                            headers={"Content-Type": "application/fhir+json"})
        assert answer.status_code == 404  # past the header rule: the Location is unknown
        assert bare.get("/Organization").status_code == 400  # every other call needs them


# -- TLS and mTLS ---------------------------------------------------------------------------------


MTLS_CLIENT = Client("vendor-mtls", certificate_cn="vendor-mtls", profile=2)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def _tls(pki, cert=None, key=None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    if cert:
        context.load_cert_chain(str(cert), str(key))
    return context


@pytest.fixture(scope="module")
def mtls_server(seed_db, tmp_path_factory, pki):
    running = start(seed_db, tmp_path_factory.mktemp("mtls"),
                    security=pki.security(require_client_cert=True, clients=(*DEFAULT_CLIENTS, MTLS_CLIENT)))
    yield running
    running.stop()


def test_https_with_a_client_certificate_from_the_ca(mtls_server, pki):
    assert mtls_server.base_url.startswith("https://127.0.0.1:")
    answer = httpx.get(f"{mtls_server.base_url}/metadata", verify=_tls(pki, pki.client_cert, pki.client_key))
    assert answer.status_code == 200


@pytest.mark.parametrize("which", ["none", "stranger"])
def test_mtls_refuses_connections_without_a_trusted_client_certificate(mtls_server, pki, which):
    context = _tls(pki) if which == "none" else _tls(pki, pki.stranger_cert, pki.stranger_key)
    with pytest.raises((httpx.ConnectError, httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(f"{mtls_server.base_url}/metadata", verify=context)


def test_certificate_clients_get_tokens_bound_to_their_certificate(mtls_server, pki):
    mine = _tls(pki, pki.client_cert, pki.client_key)
    answer = httpx.post(f"{mtls_server.base_url}/token", data={"grant_type": "client_credentials",
                                                              "client_id": MTLS_CLIENT.client_id}, verify=mine)
    assert answer.status_code == 200
    bearer = answer.json()["access_token"]
    assert _claims(bearer)["ror_profile"] == 2 and "x5t#S256" in _claims(bearer)["cnf"]
    headers = {**ROR_HEADERS, "Authorization": f"Bearer {bearer}"}
    assert httpx.get(f"{mtls_server.base_url}/Task", headers=headers, verify=mine).status_code == 200
    other = _tls(pki, pki.second_cert, pki.second_key)
    stolen = httpx.get(f"{mtls_server.base_url}/Task", headers=headers, verify=other)
    assert stolen.status_code == 401 and "RFC 8705" in stolen.json()["issue"][0]["diagnostics"]
    wrong_cn = httpx.post(f"{mtls_server.base_url}/token", data={"grant_type": "client_credentials",
                                                                "client_id": MTLS_CLIENT.client_id}, verify=other)
    assert wrong_cn.status_code == 401 and wrong_cn.json()["error"] == "invalid_client"
