# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection to dockerd through the docker SDK's low-level API, shared by every Docker module:
a local socket, or a tcp:// address with TLS (the daemon's certificate checked against a CA of the
task's own, a client certificate), the API version pinned or negotiated, and the DOCKER_*
environment variables the Docker CLI reads."""

from __future__ import annotations

import os
import re
import ssl

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.errors import AnsibleFallbackNotFound
from ansible.module_utils.parsing.convert_bool import BOOLEANS_FALSE

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Service
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    BackendUnavailable,
    InputError,
)

try:
    import docker
    import requests
    import urllib3
    from docker.constants import MINIMUM_DOCKER_API_VERSION
    from docker.errors import APIError, DockerException, NotFound
    from docker.tls import TLSConfig
    from requests.exceptions import ConnectionError as RequestsConnectionError
    from requests.exceptions import ReadTimeout

    DOCKER_IMPORT_ERROR = None
except ImportError as exc:  # reported by the engine before anything is touched
    docker = requests = urllib3 = APIError = DockerException = NotFound = None
    RequestsConnectionError = ReadTimeout = None
    TLSConfig = object
    MINIMUM_DOCKER_API_VERSION = "1.24"
    DOCKER_IMPORT_ERROR = exc

DEFAULT_HOST = "unix:///var/run/docker.sock"

# Label put on everything the collection creates; batch modules remove only what carries it.
MANAGED_LABEL = "io.virtcloud.managed-by"
MANAGED_VALUE = "virtcloud.core"

# docker_host schemes the TLS options apply to; on a local socket (unix://) they are ignored, as
# the Docker CLI ignores DOCKER_TLS_VERIFY there
TLS_SCHEMES = ("tcp://", "https://")
# option -> its file in DOCKER_CERT_PATH, taken when the option is not set and the file exists
CERT_FILES = {"ca_path": "ca.pem", "client_cert": "cert.pem", "client_key": "key.pem"}


def env_flag(*names):
    """Fallback of a boolean option from the environment, read as the Docker CLI reads
    DOCKER_TLS_VERIFY: unset or empty is not set, a false word (0, false, no, off) is false,
    any other value is true."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value.strip().lower() not in BOOLEANS_FALSE
    raise AnsibleFallbackNotFound


CONNECTION = {
    "docker_host": Opt(default=DEFAULT_HOST, aliases=["docker_url"], fallback=(env_fallback, ["DOCKER_HOST"])),
    "tls": Opt(type="bool", default=False, fallback=(env_flag, ["DOCKER_TLS"])),
    "validate_certs": Opt(type="bool", default=False, aliases=["tls_verify"],
                          fallback=(env_flag, ["DOCKER_TLS_VERIFY"])),
    "ca_path": Opt(type="path", aliases=["ca_cert", "tls_ca_cert"]),
    "client_cert": Opt(type="path", aliases=["tls_client_cert"]),
    "client_key": Opt(type="path", aliases=["tls_client_key"]),
    "tls_hostname": Opt(fallback=(env_fallback, ["DOCKER_TLS_HOSTNAME"])),
    "api_version": Opt(default="auto", aliases=["docker_api_version"], fallback=(env_fallback, ["DOCKER_API_VERSION"])),
    "timeout": Opt(type="int", default=60, fallback=(env_fallback, ["DOCKER_TIMEOUT"])),
}


def api_version(value):
    """'auto' (the newest version both the SDK and the daemon speak) or a pinned 'MAJOR.MINOR'."""
    text = str(value).strip() if value is not None else "auto"
    if text.lower() in ("auto", ""):
        return "auto"
    match = re.fullmatch(r"([0-9]+)\.([0-9]+)", text)
    if not match:
        raise InputError("api_version", "%r is not a Docker API version like 1.41, or auto" % (value,))
    version = (int(match.group(1)), int(match.group(2)))
    oldest = tuple(int(part) for part in MINIMUM_DOCKER_API_VERSION.split("."))
    if version < oldest:
        hint = " (quote it: YAML reads 1.40 as the number 1.4)" if len(match.group(2)) == 1 else ""
        raise InputError("api_version", "%s is older than the oldest version the Docker SDK speaks (%s)%s"
                         % (text, MINIMUM_DOCKER_API_VERSION, hint))
    return "%d.%d" % version


def _pem(path, option, marker, what):
    try:
        with open(path, "rb") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputError(option, "%s cannot be read: %s" % (path, exc.strerror or exc))
    if marker not in text:
        raise InputError(option, "%s holds no PEM %s" % (path, what))


def tls_files(params):
    """ca_path, client_cert and client_key as the connection uses them: the options, or the files of
    DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) that exist for those not set."""
    cert_dir = os.environ.get("DOCKER_CERT_PATH")
    files = {}
    for option, name in CERT_FILES.items():
        path = params.get(option)
        if not path and cert_dir and os.path.isfile(os.path.join(cert_dir, name)):
            path = os.path.join(cert_dir, name)
        files[option] = path or None
    return files


def tls_settings(params):
    """The TLS settings of the connection, checked before anything is touched: None (no TLS), or
    {'verify', 'ca_path', 'client_cert', 'client_key', 'hostname'}. A bad combination or file is an
    InputError naming the option."""
    host = params.get("docker_host") or DEFAULT_HOST
    verify = bool(params.get("validate_certs"))
    if not host.startswith(TLS_SCHEMES):
        return None
    if not (verify or params.get("tls")):
        given = [option for option in CERT_FILES if params.get(option)]
        if given:
            raise InputError(given[0], "given while TLS is off: set validate_certs: true (TLS, checking dockerd's "
                                       "certificate against ca_path) or tls: true (TLS without that check)")
        return None
    files = tls_files(params)
    for option, path in files.items():
        if params.get(option) and not os.path.isfile(path):
            raise InputError(option, "%s: no such file" % path)
    if files["client_key"] and not files["client_cert"]:
        raise InputError("client_cert", "client_key is set but client_cert is not: give the client's certificate "
                                        "and its private key together")
    if files["client_cert"] and not files["client_key"]:
        raise InputError("client_key", "client_cert is set but client_key is not: give the client's certificate "
                                       "and its private key together")
    if verify and not files["ca_path"]:
        raise InputError("ca_path", "validate_certs checks dockerd's certificate against the CA that signed it: "
                                    "set ca_path (or DOCKER_CERT_PATH to a directory holding ca.pem)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if files["ca_path"]:
        _pem(files["ca_path"], "ca_path", b"-----BEGIN CERTIFICATE-----", "certificate")
        try:
            context.load_verify_locations(cafile=files["ca_path"])
        except ssl.SSLError as exc:
            raise InputError("ca_path", "%s is not a CA certificate: %s" % (files["ca_path"], exc))
    if files["client_cert"]:
        _pem(files["client_cert"], "client_cert", b"-----BEGIN CERTIFICATE-----", "certificate")
        _pem(files["client_key"], "client_key", b"PRIVATE KEY-----", "private key")
        try:
            context.load_cert_chain(files["client_cert"], files["client_key"])
        except ssl.SSLError as exc:
            raise InputError("client_key", "%s is not the private key of client_cert %s: %s"
                             % (files["client_key"], files["client_cert"], exc))
    return {"verify": verify, "hostname": params.get("tls_hostname") or None, **files}


def connection_settings(params):
    """The docker.APIClient arguments of the connection options (without the TLS objects),
    checked: InputError naming the option."""
    return {"base_url": params.get("docker_host") or DEFAULT_HOST,
            "version": api_version(params.get("api_version")),
            "timeout": validate.seconds(params.get("timeout"), "timeout"),
            "tls": tls_settings(params)}


if requests is not None:
    class _TLSAdapter(requests.adapters.HTTPAdapter):
        """HTTPS to dockerd with exactly the task's CA and client certificate: requests would let
        REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE in the environment replace the CA of the session, and
        check the daemon against the system's authorities instead of ca_path."""

        def __init__(self, verify, cert, hostname, **kwargs):
            self.verify, self.cert, self.hostname = verify, cert, hostname
            super().__init__(**kwargs)

        def init_poolmanager(self, *args, **kwargs):
            if self.hostname:
                kwargs["assert_hostname"] = self.hostname
            super().init_poolmanager(*args, **kwargs)

        def send(self, request, **kwargs):  # pylint: disable=arguments-differ
            kwargs["verify"], kwargs["cert"] = self.verify, self.cert
            return super().send(request, **kwargs)


class _TLSConfig(TLSConfig):
    """The SDK's TLS configuration, applied through `_TLSAdapter` (and tls_hostname)."""

    def __init__(self, settings):
        client_cert = (settings["client_cert"], settings["client_key"]) if settings["client_cert"] else None
        super().__init__(client_cert=client_cert, ca_cert=settings["ca_path"], verify=settings["verify"])
        self.hostname = settings["hostname"] if settings["verify"] else None

    def configure_client(self, client):
        super().configure_client(client)
        if not self.verify:  # tls without validate_certs: the task chose not to check the daemon
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        client.mount("https://", _TLSAdapter(client.verify, self.cert, self.hostname))


def _chain(exc):
    """The exception and those it was raised from, outermost first."""
    seen = []
    while exc is not None and all(exc is not other for other in seen):
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _tls_reason(exc):
    """What the TLS layer said, when a TLS handshake or certificate check is why `exc` happened."""
    kinds = (ssl.SSLError, ssl.CertificateError) + ((urllib3.exceptions.SSLError,) if urllib3 else ())
    found = [e for e in _chain(exc) if isinstance(e, kinds) or type(e).__name__ == "CertificateError"]
    return str(found[-1]) if found else None


def _root_cause(exc, depth=0):
    """What the operating system said under the SDK's and urllib3's wrappers ("Error while fetching
    server API version: ('Connection aborted.', FileNotFoundError(2, ...))" -> "No such file or
    directory"), or the exception's own text when there is no such cause."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    if depth < 8:
        inner = [exc.__cause__, exc.__context__] + [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]
        inner += [getattr(exc, "reason", None)]
        for cause in inner:
            if isinstance(cause, BaseException) and cause is not exc:
                found = _root_cause(cause, depth + 1)
                if found is not None:
                    return found
    return None if depth else str(exc)


class DockerService(Service):
    """Base of the Docker services: connection options, client, error translation."""

    connection = CONNECTION
    requirements = (("docker", "docker>=7.0", DOCKER_IMPORT_ERROR),)

    def connect(self):
        settings = connection_settings(self.params)
        tls = _TLSConfig(settings["tls"]) if settings["tls"] else False
        self.api = docker.APIClient(base_url=settings["base_url"], version=settings["version"],
                                    timeout=settings["timeout"], tls=tls)

    def share_connection(self, other):
        self.api = other.api  # one client (and its pool of connections) for every item of a batch

    def translate(self, exc):
        host = self.params.get("docker_host")
        text = " ".join(str(e) for e in _chain(exc))
        refused = re.search(r"client version \S+ is too (new|old)[^\"]*", text)
        if refused:
            return InputError("api_version", "dockerd at %s (docker_host) does not speak API version %s: %s. Give a "
                                             "version it speaks, or auto" % (host, self.params.get("api_version"),
                                                                             refused.group(0).rstrip(". ")))
        if "Client sent an HTTP request to an HTTPS server" in text:
            return BackendUnavailable(
                "dockerd at %s (docker_host) expects TLS: set validate_certs: true with ca_path, client_cert and "
                "client_key (or DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH)" % host)
        reason = _tls_reason(exc)
        if reason is not None:
            return self._tls_error(host, reason)
        if APIError is not None and isinstance(exc, APIError):
            return BackendError("Docker refused the request: %s" % (exc.explanation or exc),
                                status_code=exc.status_code)
        if isinstance(exc, PermissionError) or "Permission denied" in str(exc):
            return BackendUnavailable(
                "permission denied on the Docker socket %s (docker_host): run as root or as a "
                "member of the 'docker' group" % host)
        if ReadTimeout is not None and isinstance(exc, ReadTimeout):
            return BackendError("dockerd at %s did not answer within %ss (timeout)"
                                % (host, self.params.get("timeout")))
        connection_errors = tuple(e for e in (DockerException, RequestsConnectionError) if e)
        if connection_errors and isinstance(exc, connection_errors):
            return BackendUnavailable(
                "cannot connect to the Docker daemon at %s (docker_host): %s. Start dockerd on that host "
                "(for example systemctl start docker) or point docker_host at a running daemon"
                % (host, _root_cause(exc)))
        return None

    def _tls_error(self, host, reason):
        """A failed TLS handshake, with the option that fixes it."""
        files = tls_files(self.params)
        upper = reason.upper()
        if "MISMATCH" in upper or "DOESN'T MATCH" in upper:
            name = self.params.get("tls_hostname") or "the host of docker_host"
            return BackendUnavailable(
                "the certificate of dockerd at %s (docker_host) is not valid for the name checked (tls_hostname: %s): "
                "%s. Set tls_hostname to a name the certificate holds" % (host, name, reason))
        if "CERTIFICATE_VERIFY_FAILED" in upper:
            return BackendUnavailable(
                "the certificate of dockerd at %s (docker_host) does not verify against the CA in ca_path (%s): %s. "
                "Point ca_path at the CA certificate that signed dockerd's certificate" % (host, files["ca_path"], reason))
        # a daemon that refuses the client's certificate says so with an alert, or, in TLS 1.3 where
        # it checks the certificate after the client's side of the handshake is done, may only close
        ended = "EOF OCCURRED" in upper or "UNEXPECTED_EOF" in upper
        if ended or ("ALERT" in upper and ("CERTIFICATE" in upper or "UNKNOWN_CA" in upper)):
            if not files["client_cert"]:
                return BackendUnavailable(
                    "dockerd at %s (docker_host) %srequires a client certificate (%s): set client_cert and client_key "
                    "(or DOCKER_CERT_PATH to a directory holding cert.pem and key.pem)"
                    % (host, "closed the TLS connection: most likely it " if ended else "", reason))
            return BackendUnavailable(
                "dockerd at %s (docker_host) %srefused the client certificate in client_cert (%s): %s. Give client_cert "
                "and client_key a certificate signed by the CA dockerd trusts (its --tlscacert)"
                % (host, "closed the TLS connection: most likely it " if ended else "", files["client_cert"], reason))
        if "WRONG_VERSION_NUMBER" in upper or "RECORD LAYER FAILURE" in upper:
            return BackendUnavailable(
                "dockerd at %s (docker_host) does not speak TLS there (%s): set tls and validate_certs to false, or "
                "point docker_host at dockerd's TLS port" % (host, reason))
        return BackendUnavailable(
            "the TLS handshake with dockerd at %s (docker_host) failed: %s. Check ca_path, client_cert, client_key "
            "and tls_hostname" % (host, reason))

    def inspect(self, kind, ident):
        """inspect_<kind>(ident), or None when it does not exist."""
        try:
            return getattr(self.api, "inspect_" + kind)(ident)
        except NotFound:
            return None
