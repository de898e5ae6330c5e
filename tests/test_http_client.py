"""The target client against real loopback servers: proper ones, hostile ones, TLS, mutual TLS, OAuth2."""
from __future__ import annotations

import gzip
import json
import socket
import time
from pathlib import Path

import pytest

from _certs import make_pki
from _loopback import Loopback, Request, json_handler, respond, serve
from harness.http import ClientSettings, OAuth2Settings, RorHeaders, TargetClient, preflight

ROR = RorHeaders("PROFIL", "https://example.org/profil", "ROLE", "https://example.org/role")


def settings(url: str, **overrides) -> ClientSettings:
    values = dict(connect_timeout_s=2, read_timeout_s=2, total_timeout_s=4)
    values.update(overrides)
    return ClientSettings(url, **values)


# -- well-behaved exchanges ----------------------------------------------------------------------

def test_get_json_with_params_and_ror_headers() -> None:
    with serve(json_handler(b'{"resourceType": "Bundle", "total": 0}')) as server:
        with TargetClient(settings(server.url + "/fhir", ror_headers=ROR)) as client:
            result = client.send("GET", "Organization", params=[("name:contains", "Hôpital"), ("_count", "5")],
                                 step="rechercher", yaml_line=12)
    assert result.status == 200 and result.json == {"resourceType": "Bundle", "total": 0}
    assert result.error is None and result.json_error is None and result.notes == ()
    seen = server.requests[0]
    assert seen.target == "/fhir/Organization?name:contains=H%C3%B4pital&_count=5"
    assert seen.headers["ror-role-metier-code"] == "ROLE" and seen.headers["accept"] == "application/fhir+json"
    exchange = result.exchange
    assert (exchange.step, exchange.yaml_line, exchange.response.status) == ("rechercher", 12, 200)
    assert exchange.curl.startswith("curl -sS -i -X GET 'http://127.0.0.1:")
    assert "Ror-Profil-Utilisateur-Code: PROFIL" in exchange.curl


def test_post_json_body_and_header_override_and_removal() -> None:
    with serve(json_handler(status=201)) as server:
        with TargetClient(settings(server.url, ror_headers=ROR)) as client:
            result = client.send("POST", "/Organization", body={"resourceType": "Organization", "name": "Clinique é"},
                                 headers={"Ror-Role-Metier-Code": None, "Accept": "application/json"})
    seen = server.requests[0]
    assert result.status == 201
    assert json.loads(seen.body) == {"resourceType": "Organization", "name": "Clinique é"}
    assert seen.headers["content-type"] == "application/fhir+json; charset=utf-8"
    assert "ror-role-metier-code" not in seen.headers and seen.headers["accept"] == "application/json"
    assert "Clinique é" in result.exchange.request.body and "--data-binary" in result.exchange.curl


def test_gzip_body_is_decompressed() -> None:
    body = gzip.compress(b'{"resourceType": "Patient"}')

    def handle(request: Request, sock: socket.socket, server: Loopback) -> None:
        respond(sock, 200, body, {"Content-Type": "application/fhir+json", "Content-Encoding": "gzip"})

    with serve(handle) as server, TargetClient(settings(server.url)) as client:
        assert client.send("GET", "Patient/1").json == {"resourceType": "Patient"}


# -- hostile targets end in bounded time, in words -----------------------------------------------

def test_stalled_server_times_out() -> None:
    def stall(request: Request, sock: socket.socket, server: Loopback) -> None:
        server.stop.wait(10)

    with serve(stall) as server, TargetClient(settings(server.url, read_timeout_s=0.5)) as client:
        started = time.monotonic()
        result = client.send("GET", "metadata")
    assert time.monotonic() - started < 2
    assert result.status is None and result.error_kind == "timeout" and "sent nothing for 0.5 s" in result.error
    assert result.exchange.response is None and result.exchange.error == result.error


@pytest.mark.parametrize("where", ["headers", "body"])
def test_trickling_server_hits_the_total_deadline(where: str) -> None:
    """One byte every 0.1 s never trips a 1 s read timeout; only the total deadline stops it."""
    def trickle(request: Request, sock: socket.socket, server: Loopback) -> None:
        if where == "body":
            sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 100000\r\n\r\n")
        payload = b"HTTP/1.1 200 OK\r\nX-Slow: " if where == "headers" else b"{"
        for index in range(1000):
            if server.stop.wait(0.1):
                return
            sock.sendall(payload[index:index + 1] if index < len(payload) else b" ")

    with serve(trickle) as server, TargetClient(settings(server.url, read_timeout_s=1, total_timeout_s=1.5)) as client:
        started = time.monotonic()
        result = client.send("GET", "Organization")
        elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed
    assert result.error_kind == "deadline" and "total limit of 1.5 s" in result.error


def test_body_claiming_5_gb_is_cut_at_the_limit() -> None:
    def endless(request: Request, sock: socket.socket, server: Loopback) -> None:
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\nContent-Length: 5368709120\r\n\r\n")
        chunk = b"[" + b"0," * 32767
        for _ in range(10_000):  # at most 640 MB, far more than the client will read
            if server.stop.is_set():
                return
            sock.sendall(chunk)

    with serve(endless) as server, TargetClient(settings(server.url, max_body_bytes=100_000)) as client:
        started = time.monotonic()
        result = client.send("GET", "Organization")
    assert time.monotonic() - started < 2
    assert result.status == 200 and result.truncated and len(result.raw) == 100_000
    assert result.json is None and "cut at 100000 bytes" in result.json_error
    assert result.exchange.response.truncated


def test_gzip_bomb_is_not_inflated_past_the_limit() -> None:
    bomb = gzip.compress(b" " * 20_000_000, compresslevel=9)

    def handle(request: Request, sock: socket.socket, server: Loopback) -> None:
        respond(sock, 200, bomb, {"Content-Type": "application/fhir+json", "Content-Encoding": "gzip"})

    with serve(handle) as server, TargetClient(settings(server.url, max_body_bytes=1_000_000)) as client:
        result = client.send("GET", "Organization")
    assert result.truncated and len(result.raw) == 1_000_000


def test_redirect_loop_stops() -> None:
    def loop(request: Request, sock: socket.socket, server: Loopback) -> None:
        respond(sock, 302, b"", {"Location": "/b" if request.target == "/a" else "/a"})

    with serve(loop) as server, TargetClient(settings(server.url, max_redirects=3)) as client:
        result = client.send("GET", "a")
    assert result.status == 302 and result.error_kind == "redirects"
    assert "more than 3 redirects" in result.error and len(result.exchanges) == 4


def test_redirect_is_followed_and_recorded() -> None:
    def handle(request: Request, sock: socket.socket, server: Loopback) -> None:
        if request.target == "/old":
            respond(sock, 303, b"", {"Location": "/new"})
        else:
            json_handler()(request, sock, server)

    with serve(handle) as server, TargetClient(settings(server.url)) as client:
        result = client.send("POST", "old", body={"resourceType": "Parameters"})
    assert result.status == 200 and [e.request.method for e in result.exchanges] == ["POST", "GET"]
    assert any("303 redirect" in note for note in result.notes)


def test_garbage_bytes_are_a_protocol_error() -> None:
    def garbage(request: Request, sock: socket.socket, server: Loopback) -> None:
        sock.sendall(bytes(range(256)) * 4)

    with serve(garbage, keep_alive=False) as server, TargetClient(settings(server.url)) as client:
        result = client.send("GET", "metadata")
    assert result.status is None and result.error_kind == "protocol"
    assert "did not answer in valid HTTP/1.1" in result.error


def test_html_instead_of_json_is_said_in_words() -> None:
    with serve(json_handler(b"<html><body>Erreur</body></html>", 200, "text/html")) as server:
        with TargetClient(settings(server.url)) as client:
            result = client.send("GET", "metadata")
    assert result.status == 200 and result.json is None
    assert result.json_error.startswith("the body is not JSON") and "'<html><body>Erreur" in result.json_error
    assert "Content-Type is 'text/html', not application/fhir+json" in result.notes


def test_declared_charset_disagreeing_with_utf8() -> None:
    body = '{"name": "Hôpital"}'.encode("utf-8")
    with serve(json_handler(body, content_type="application/fhir+json; charset=ISO-8859-1")) as server:
        with TargetClient(settings(server.url)) as client:
            result = client.send("GET", "Organization/1")
    assert result.json == {"name": "Hôpital"}
    assert any("charset=ISO-8859-1" in note and "read as UTF-8" in note for note in result.notes)


def test_latin1_bytes_are_reported_not_utf8() -> None:
    with serve(json_handler('{"name": "Hôpital"}'.encode("latin-1"))) as server:
        with TargetClient(settings(server.url)) as client:
            result = client.send("GET", "Organization/1")
    assert result.json == {"name": "H\ufffdpital"}
    assert any("not valid UTF-8 (first invalid byte at offset 11)" in note for note in result.notes)


# -- preflight -----------------------------------------------------------------------------------

def test_preflight_lines() -> None:
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    assert "refused" in preflight(settings(f"http://127.0.0.1:{port}"))
    assert "(dns)" in preflight(settings("http://ror-harness-test.invalid"))
    with serve(json_handler(b"not found", 404, "text/plain")) as server:
        assert preflight(settings(server.url)) is None

    def stall(request: Request, sock: socket.socket, server: Loopback) -> None:
        server.stop.wait(10)

    with serve(stall) as server:
        assert "(timeout)" in preflight(settings(server.url, read_timeout_s=0.3))


# -- TLS and mutual TLS --------------------------------------------------------------------------

def test_tls_trust(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with serve(json_handler(), tls=pki.server_context()) as server:
        line = preflight(settings(server.url))
        assert "(tls)" in line and "not trusted" in line
        with TargetClient(settings(server.url, ca_bundle=str(pki.ca_cert))) as client:
            result = client.send("GET", "metadata")
        assert result.status == 200 and f"--cacert {pki.ca_cert}" in result.exchange.curl


def test_mutual_tls(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with serve(json_handler(), tls=pki.server_context(require_client_cert=True)) as server:
        with TargetClient(settings(server.url, ca_bundle=str(pki.ca_cert))) as client:
            refused = client.send("GET", "metadata")
        assert refused.status is None and refused.error_kind in ("tls", "connection_lost", "protocol")
        mtls = settings(server.url, ca_bundle=str(pki.ca_cert), client_cert=str(pki.client_cert),
                        client_key=str(pki.client_key), client_key_password=pki.client_key_password)
        with TargetClient(mtls) as client:
            result = client.send("GET", "metadata")
    assert result.status == 200
    assert f"--key {pki.client_key}" in result.exchange.curl and pki.client_key_password not in result.exchange.curl


# -- OAuth2 client credentials -------------------------------------------------------------------

SECRET = "client-secret-9d8c7b6a"


def oauth_server(expires_in: int = 3600, reject_first_token: bool = False):
    """A token endpoint counting its calls in front of an API that checks the bearer token."""
    def handle(request: Request, sock: socket.socket, server: Loopback) -> None:
        tokens = [r for r in server.requests if r.target == "/token"]
        if request.target == "/token":
            if SECRET not in request.body.decode() and "authorization" not in request.headers:
                respond(sock, 401, b'{"error": "invalid_client"}')
                return
            body = json.dumps({"access_token": f"token-number-{len(tokens)}-abcdef", "token_type": "Bearer",
                               "expires_in": expires_in}).encode()
            respond(sock, 200, body, {"Content-Type": "application/json"})
            return
        expected = f"Bearer token-number-{len(tokens)}-abcdef"
        if request.headers.get("authorization") != expected or (reject_first_token and len(tokens) == 1):
            respond(sock, 401, b"", {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return
        json_handler()(request, sock, server)
    return handle


def oauth_settings(url: str, client_auth: str = "basic", **overrides) -> ClientSettings:
    return settings(url, oauth2=OAuth2Settings(url + "/token", "harness", SECRET, "ror.read", client_auth),
                    **overrides)


@pytest.mark.parametrize("client_auth", ["basic", "post"])
def test_token_fetched_once_and_cached(client_auth: str) -> None:
    with serve(oauth_server()) as server, TargetClient(oauth_settings(server.url, client_auth)) as client:
        results = [client.send("GET", "Organization") for _ in range(3)]
    assert [r.status for r in results] == [200, 200, 200]
    assert client.tokens.fetch_count == 1
    for result in results:
        exchange = result.exchange
        assert exchange.request.headers["Authorization"] == "Bearer [REDACTED]"
        assert "token-number" not in exchange.curl and SECRET not in repr(exchange)


def test_401_refetches_the_token_once() -> None:
    with serve(oauth_server(reject_first_token=True)) as server:
        with TargetClient(oauth_settings(server.url)) as client:
            result = client.send("GET", "Organization")
    assert result.status == 200 and client.tokens.fetch_count == 2 and len(result.exchanges) == 2
    assert any("new token was fetched" in note for note in result.notes)


def test_expired_token_is_renewed() -> None:
    with serve(oauth_server(expires_in=1)) as server, TargetClient(oauth_settings(server.url)) as client:
        client.send("GET", "Organization")
        time.sleep(1.05)
        assert client.send("GET", "Organization").status == 200
    assert client.tokens.fetch_count == 2


def test_token_endpoint_refusal_is_an_oauth_error() -> None:
    with serve(oauth_server()) as server:
        bad = settings(server.url, oauth2=OAuth2Settings(server.url + "/token", "harness", "wrong-secret-xyz",
                                                         client_auth="post"))
        with TargetClient(bad) as client:
            result = client.send("GET", "Organization")
    assert result.status is None and result.error_kind == "oauth" and "answered 401" in result.error
    assert "wrong-secret-xyz" not in result.error


def test_token_not_sent_to_another_origin() -> None:
    with serve(oauth_server()) as api, serve(json_handler()) as elsewhere:
        with TargetClient(oauth_settings(api.url)) as client:
            result = client.send("GET", elsewhere.url + "/Bundle/page2")
    assert result.status == 200 and "authorization" not in elsewhere.requests[0].headers
    assert any("not the target's origin" in note for note in result.notes)


def test_forward_proxy_gets_absolute_url_and_proxy_credentials() -> None:
    with serve(json_handler()) as proxy:
        with TargetClient(settings("http://ror.example.test/fhir",
                                   proxy=proxy.url.replace("http://", "http://me:proxy-pass-123@"))) as client:
            result = client.send("GET", "metadata")
    seen = proxy.requests[0]
    assert result.status == 200 and seen.target == "http://ror.example.test/fhir/metadata"
    assert seen.headers["proxy-authorization"].startswith("Basic ")
    assert "proxy-pass-123" not in result.exchange.curl and "me:[REDACTED]@" in result.exchange.curl
