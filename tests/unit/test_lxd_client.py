"""The LXD client's pure parts: connection options checked before anything is touched, paths."""

from __future__ import annotations

import base64
import http.server
import json
import ssl
import subprocess
import threading

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.lxd import client


def params(**kw):
    base = {"url": None, "client_cert": None, "client_key": None, "server_cert": None, "validate_certs": True,
            "trust_password": None, "trust_token": None, "project": None, "timeout": 120}
    base.update(kw)
    return base


@pytest.mark.parametrize("kw, option", [
    ({"url": "http://lxd:8443"}, "url"),
    ({"url": "https://127.0.0.1:8443"}, "client_cert"),
    ({"client_cert": "/c.pem"}, "client_key"),
    ({"client_key": "/k.pem"}, "client_cert"),
    ({"trust_password": "a", "trust_token": "b"}, "trust_token"),
    ({"timeout": -1}, "timeout"),
    ({"url": "https://127.0.0.1:8443", "client_cert": "/nonexistent.pem", "client_key": "/nonexistent.key"},
     "client_cert"),
])
def test_bad_connection_options_name_the_option(kw, option):
    with pytest.raises(InputError) as err:
        client.check_connection(params(**kw))
    assert err.value.option == option


def test_good_connection_options():
    client.check_connection(params())
    client.check_connection(params(url="unix:/var/lib/lxd/unix.socket"))


def test_socket_path_forms():
    assert client._socket_path("unix:/run/lxd.sock") == "/run/lxd.sock"
    assert client._socket_path("unix:///run/lxd.sock") == "/run/lxd.sock"


def test_project_goes_into_every_query_but_operations():
    lxd = client.Lxd(params(project="tenant a"))
    assert lxd.path("/1.0/instances") == "/1.0/instances?project=tenant+a"
    assert lxd.path("/1.0/instances", {"recursion": 1}) == "/1.0/instances?recursion=1&project=tenant+a"
    assert lxd.path("/1.0/operations/x/wait", {"timeout": 5}, project=False) == "/1.0/operations/x/wait?timeout=5"


def test_names_are_quoted_both_ways():
    assert client.name_path("instances", "a b/c") == "/1.0/instances/a%20b%2Fc"
    assert client.base_name("/1.0/instances/a%20b?project=x") == "a b"


def test_token_fingerprint_is_read_and_a_malformed_token_refused():
    token = base64.b64encode(json.dumps({"client_name": "c", "fingerprint": "AB" * 32, "addresses": [],
                                         "secret": "s", "expires_at": "0001-01-01T00:00:00Z"}).encode()).decode()
    assert client.token_fingerprint(token.rstrip("=")) == "ab" * 32  # padding is optional
    for bad in ("not-a-token", base64.b64encode(b'{"fingerprint": "ab"}').decode(),
                base64.b64encode(b"[1]").decode(), base64.b64encode(b'{"secret": "s"}').decode()):
        with pytest.raises(InputError) as err:
            client.check_connection(params(trust_token=bad))
        assert err.value.option == "trust_token" and bad not in err.value.msg


def _openssl(*args):
    subprocess.run(("openssl",) + args, check=True, capture_output=True, timeout=60)


@pytest.fixture
def ca_signed_server(tmp_path):
    """An https server on 127.0.0.1 whose certificate a private CA signed, answering GET /1.0 as a
    trusting LXD does; the CA is the host's only authority (SSL_CERT_FILE)."""
    d = str(tmp_path)
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/ca.key", "-out", d + "/ca.crt",
             "-days", "2", "-subj", "/CN=vct test CA")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/srv.key", "-out", d + "/srv.csr",
             "-subj", "/CN=127.0.0.1")
    with open(d + "/ext", "w") as handle:
        handle.write("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", d + "/srv.csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
             "-CAcreateserial", "-out", d + "/srv.crt", "-days", "2", "-extfile", d + "/ext")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", d + "/cl.key", "-out", d + "/cl.crt",
             "-days", "2", "-subj", "/CN=client")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = json.dumps({"type": "sync", "metadata": {"auth": "trusted"}}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(d + "/srv.crt", d + "/srv.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": "https://127.0.0.1:%d" % server.server_address[1], "ca": d + "/ca.crt",
           "client_cert": d + "/cl.crt", "client_key": d + "/cl.key"}
    server.shutdown()
    server.server_close()


def test_validate_certs_checks_against_the_hosts_authorities(ca_signed_server, monkeypatch):
    """validate_certs without server_cert: a certificate an authority of the host signed is accepted
    (the context loaded no authority at all before), and without that authority it is refused."""
    monkeypatch.setenv("SSL_CERT_FILE", ca_signed_server.pop("ca"))
    lxd = client.Lxd(params(**ca_signed_server))
    assert lxd.server()["auth"] == "trusted"
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent")
    monkeypatch.setenv("SSL_CERT_DIR", "/nonexistent")
    with pytest.raises(ssl.SSLCertVerificationError):
        client.Lxd(params(**ca_signed_server)).server()
