"""The Docker connection options without a daemon: TLS combinations and files checked before anything
is touched (InputError naming the option), DOCKER_* environment fallbacks, API versions, and one
message per kind of TLS handshake failure naming the option that fixes it."""

from __future__ import annotations

import ssl

import pytest
import requests
from ansible.module_utils.errors import AnsibleFallbackNotFound
from docker.errors import APIError, DockerException

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendUnavailable,
    InputError,
)
from ansible_collections.virtcloud.core.plugins.module_utils.docker import client
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import DockerService
from lib.tls import cert_dir, make_certs

HOST = "tcp://127.0.0.1:2376"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture(autouse=True)
def no_docker_env(monkeypatch):
    for name in ("DOCKER_CERT_PATH", "DOCKER_TLS", "DOCKER_TLS_VERIFY"):
        monkeypatch.delenv(name, raising=False)


def params(**kw):
    return {"docker_host": HOST, "tls": False, "validate_certs": False, "ca_path": None, "client_cert": None,
            "client_key": None, "tls_hostname": None, "api_version": "auto", "timeout": 60, **kw}


def verified(certs, **kw):  # pylint: disable=redefined-outer-name
    return params(validate_certs=True, ca_path=certs["ca"], client_cert=certs["client_cert"],
                  client_key=certs["client_key"], **kw)


def refused(option, **kw):
    with pytest.raises(InputError) as err:
        client.connection_settings(params(**kw))
    assert err.value.option == option, err.value.msg
    return err.value.msg


def test_verified_tls_takes_the_files(certs):  # pylint: disable=redefined-outer-name
    tls = client.connection_settings(verified(certs, tls_hostname="docker.example"))["tls"]
    assert tls == {"verify": True, "ca_path": certs["ca"], "client_cert": certs["client_cert"],
                   "client_key": certs["client_key"], "hostname": "docker.example"}


def test_tls_without_verification_needs_no_ca():
    assert client.connection_settings(params(tls=True))["tls"]["verify"] is False


def test_a_local_socket_ignores_tls(certs):  # pylint: disable=redefined-outer-name
    """As the Docker CLI ignores DOCKER_TLS_VERIFY for a unix socket."""
    assert client.connection_settings(verified(certs, docker_host="unix:///var/run/docker.sock"))["tls"] is None
    assert client.connection_settings(params(docker_host="unix:///run/x.sock", validate_certs=True))["tls"] is None


@pytest.mark.parametrize("option, kw, fragment", [
    ("client_cert", {"tls": True, "client_key": "KEY"}, "client_key is set but client_cert is not"),
    ("client_key", {"tls": True, "client_cert": "CERT"}, "client_cert is set but client_key is not"),
    ("ca_path", {"validate_certs": True}, "set ca_path"),
    ("ca_path", {"ca_path": "CA"}, "TLS is off: set validate_certs: true"),
    ("client_cert", {"client_cert": "CERT", "client_key": "KEY"}, "TLS is off"),
    ("ca_path", {"validate_certs": True, "ca_path": "/nonexistent/ca.pem"}, "/nonexistent/ca.pem: no such file"),
    ("client_key", {"tls": True, "client_cert": "CERT", "client_key": "/nonexistent/key.pem"}, "no such file"),
    ("ca_path", {"validate_certs": True, "ca_path": "KEY"}, "holds no PEM certificate"),
    ("client_key", {"tls": True, "client_cert": "CERT", "client_key": "CERT"}, "holds no PEM private key"),
    ("client_key", {"tls": True, "client_cert": "CERT", "client_key": "OTHER_KEY"}, "is not the private key of"),
    ("api_version", {"api_version": "banana"}, "'banana' is not a Docker API version like 1.41"),
    ("api_version", {"api_version": "1.4"}, "YAML reads 1.40 as the number 1.4"),
    ("api_version", {"api_version": "1.12"}, "older than the oldest version the Docker SDK speaks"),
    ("timeout", {"timeout": -1}, "is not a number of seconds"),
])
def test_bad_combinations_name_the_option(certs, option, kw, fragment):  # pylint: disable=redefined-outer-name
    files = {"CA": certs["ca"], "CERT": certs["client_cert"], "KEY": certs["client_key"],
             "OTHER_KEY": certs["other_client_key"]}
    kw = {key: files.get(value, value) if isinstance(value, str) else value for key, value in kw.items()}
    assert fragment in refused(option, **kw)


def test_api_versions():
    assert client.api_version(None) == "auto"
    assert client.api_version("AUTO") == "auto"
    assert client.api_version("1.41") == "1.41"
    assert client.api_version(" 1.040 ") == "1.40"


def test_docker_cert_path_fills_what_is_not_set(certs, tmp_path, monkeypatch):  # pylint: disable=redefined-outer-name
    monkeypatch.setenv("DOCKER_CERT_PATH", cert_dir(certs, str(tmp_path / "docker")))
    tls = client.connection_settings(params(validate_certs=True))["tls"]
    assert tls["ca_path"] == str(tmp_path / "docker" / "ca.pem")
    assert tls["client_cert"] == str(tmp_path / "docker" / "cert.pem")
    assert tls["client_key"] == str(tmp_path / "docker" / "key.pem")
    # the task's own option wins over the directory
    assert client.connection_settings(params(validate_certs=True, ca_path=certs["ca"]))["tls"]["ca_path"] == certs["ca"]
    # the directory alone does not switch TLS on, as for the Docker CLI
    assert client.connection_settings(params())["tls"] is None


def test_docker_cert_path_without_files_is_no_ca(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path))
    assert "DOCKER_CERT_PATH" in refused("ca_path", validate_certs=True)


@pytest.mark.parametrize("value, expected", [("1", True), ("yes", True), ("anything", True), ("0", False),
                                             ("false", False), ("OFF", False)])
def test_tls_flags_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("DOCKER_TLS_VERIFY", value)
    assert client.env_flag("DOCKER_TLS_VERIFY") is expected


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_or_empty_flag_is_not_set(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("DOCKER_TLS", raising=False)
    else:
        monkeypatch.setenv("DOCKER_TLS", value)
    with pytest.raises(AnsibleFallbackNotFound):
        client.env_flag("DOCKER_TLS")


def test_every_connection_option_has_its_environment_variable():
    fallbacks = {name: opt.fallback[1] for name, opt in client.CONNECTION.items() if opt.fallback}
    assert fallbacks == {"docker_host": ["DOCKER_HOST"], "tls": ["DOCKER_TLS"], "validate_certs": ["DOCKER_TLS_VERIFY"],
                         "tls_hostname": ["DOCKER_TLS_HOSTNAME"], "api_version": ["DOCKER_API_VERSION"],
                         "timeout": ["DOCKER_TIMEOUT"]}


# ---------------------------------------------------------------- handshake failures
def translated(reason, **kw):
    """The message of an SSL failure as the SDK raises it while it asks for the API version:
    DockerException from requests' SSLError from the ssl module's error."""
    cause = requests.exceptions.SSLError("Max retries exceeded (Caused by SSLError(%r))" % reason)
    cause.__cause__ = reason
    exc = DockerException("Error while fetching server API version: %s" % cause)
    exc.__cause__ = cause
    error = DockerService(params(**kw)).translate(exc)
    assert isinstance(error, BackendUnavailable), error
    assert "\n" not in error.msg
    return error.msg


def test_wrong_ca_names_ca_path():
    msg = translated(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                                     "unable to get local issuer certificate"),
                     validate_certs=True, ca_path="/etc/ca.pem")
    assert "does not verify against the CA in ca_path (/etc/ca.pem)" in msg and HOST in msg


def test_wrong_name_names_tls_hostname():
    msg = translated(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                                     "Hostname mismatch, certificate is not valid for 'a.example'"),
                     tls_hostname="a.example")
    assert "(tls_hostname: a.example)" in msg


def test_missing_client_certificate_names_client_cert():
    msg = translated(ssl.SSLError(1, "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate"))
    assert "requires a client certificate" in msg and "set client_cert and client_key" in msg


def test_refused_client_certificate_names_client_cert():
    msg = translated(ssl.SSLError(1, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca"),
                     tls=True, client_cert="/etc/c.pem", client_key="/etc/k.pem")
    assert "refused the client certificate in client_cert (/etc/c.pem)" in msg


def test_a_port_without_tls_names_tls():
    msg = translated(ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), tls=True)
    assert "does not speak TLS there" in msg and "set tls and validate_certs to false" in msg


def test_plain_http_to_a_tls_daemon_names_validate_certs():
    response = requests.Response()
    response.status_code = 400
    error = DockerService(params()).translate(
        APIError("400 Client Error", response=response, explanation="Client sent an HTTP request to an HTTPS server."))
    assert isinstance(error, BackendUnavailable) and "expects TLS: set validate_certs: true" in error.msg


def test_an_api_version_the_daemon_does_not_speak_names_api_version():
    response = requests.Response()
    response.status_code = 400
    error = DockerService(params(api_version="1.99")).translate(APIError(
        "400 Client Error", response=response,
        explanation="client version 1.99 is too new. Maximum supported API version is 1.41"))
    assert isinstance(error, InputError) and error.option == "api_version"
    assert "client version 1.99 is too new. Maximum supported API version is 1.41" in error.msg


def test_a_daemon_that_only_closes_is_taken_as_refusing_the_client_certificate():
    """TLS 1.3: the daemon checks the client's certificate after the client's side of the handshake,
    and may close the connection before its alert is read."""
    eof = ssl.SSLEOFError(8, "EOF occurred in violation of protocol (_ssl.c:2427)")
    msg = translated(eof, validate_certs=True, ca_path="/etc/ca.pem", client_cert="/etc/c.pem", client_key="/etc/k.pem")
    assert "closed the TLS connection: most likely it refused the client certificate in client_cert (/etc/c.pem)" in msg
    assert "most likely it requires a client certificate" in translated(eof, tls=True)
