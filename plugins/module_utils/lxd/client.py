# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The LXD REST API, shared by every LXD module: the local unix socket or a remote https endpoint
(client certificate, pinned server certificate, trust password or token), one keep-alive
connection per thread, and background operations waited for with the common wait helper.

Only the standard library: LXD speaks JSON over HTTP, and nothing else is needed to reach it."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import socket
import ssl
import threading
from urllib.parse import quote, unquote, urlencode, urlsplit

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Service
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    BackendUnavailable,
    InputError,
)
from ansible_collections.virtcloud.core.plugins.module_utils.common.wait import wait_for

# where the Debian/Ubuntu package and the snap put the local socket; `url` unset tries them in turn
SOCKETS = ("/var/lib/lxd/unix.socket", "/var/snap/lxd/common/lxd/unix.socket")

CONNECTION = {
    "url": Opt(aliases=["lxd_url"]),
    "client_cert": Opt(type="path", aliases=["cert_file"]),
    "client_key": Opt(type="path", aliases=["key_file"]),
    "server_cert": Opt(type="path"),
    "validate_certs": Opt(type="bool", default=True),
    "trust_password": Opt(no_log=True),
    "trust_token": Opt(no_log=True),
    "project": Opt(),
    "timeout": Opt(type="int", default=120),
}


class LxdError(Exception):
    """LXD answered with an error: its HTTP status and its own message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("lxd", timeout=timeout)
        self.socket_path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _socket_path(url):
    """The unix socket of `url` (unix:/path or unix:///path), or the first that exists."""
    if url:
        return urlsplit(url).path or url[len("unix:"):]
    for path in SOCKETS:
        if os.path.exists(path):
            return path
    return SOCKETS[0]


def check_connection(params):
    """The connection options, checked before anything is touched."""
    url = params.get("url")
    if url and not (url.startswith("unix:") or url.startswith("https://")):
        raise InputError("url", "%r: give unix:/path/to/unix.socket or https://host[:port]" % url)
    remote = bool(url) and url.startswith("https://")
    if remote and not (params.get("client_cert") and params.get("client_key")):
        raise InputError("client_cert", "a remote LXD (url https://...) authenticates clients by certificate: "
                         "set client_cert and client_key")
    if bool(params.get("client_cert")) != bool(params.get("client_key")):
        raise InputError("client_key" if params.get("client_cert") else "client_cert",
                         "client_cert and client_key go together")
    for option in ("client_cert", "client_key", "server_cert"):
        path = params.get(option)
        if path and remote and not os.path.isfile(path):
            raise InputError(option, "%s: no such file" % path)
    if params.get("trust_password") and params.get("trust_token"):
        raise InputError("trust_token", "give trust_password or trust_token, not both")
    if params.get("trust_token"):
        token_fingerprint(params["trust_token"])
    validate.seconds(params.get("timeout"), "timeout")


def token_fingerprint(token):
    """The server certificate's SHA-256 fingerprint that a join token names (LXD's token is base64
    of JSON: client_name, fingerprint, addresses, secret, expires_at). Never shows the token."""
    token = token.strip()
    try:
        data = json.loads(base64.b64decode(token + "=" * (-len(token) % 4), validate=True))
    except ValueError:  # binascii.Error and bad UTF-8 too
        data = None
    if not isinstance(data, dict) or not data.get("secret"):
        raise InputError("trust_token", "not an LXD trust token: give the token that `lxc config trust add` "
                         "printed on the server (a long base64 string)")
    fingerprint = data.get("fingerprint")
    if not isinstance(fingerprint, str) or len(fingerprint) != 64:
        raise InputError("trust_token", "the token names no server certificate fingerprint: make a new one "
                         "with `lxc config trust add` on the server")
    return fingerprint.lower()


class Lxd:
    """A client of one LXD daemon. `request` returns the parsed answer; `call` also waits for
    the background operation an answer starts, and returns its metadata."""

    def __init__(self, params):
        self.url = params.get("url") or ("unix:" + _socket_path(None))
        self.remote = self.url.startswith("https://")
        self.timeout = params.get("timeout") or 120
        self.project = params.get("project")
        self.params = params
        self.local = threading.local()  # http.client connections are not shared between threads
        self.requests = 0  # round trips, for tests and benchmarks that count them
        self.info = None  # GET /1.0 as `server()` read it last

    # ------------------------------------------------------------ transport
    def _pinned(self):
        """(SHA-256 fingerprint, where it comes from) that the server's certificate must have, or
        None to check it against the certificate authorities (or not at all: validate_certs false)."""
        path = self.params.get("server_cert")
        if path:
            with open(path, "rb") as handle:
                pem = handle.read().decode("ascii", "replace")
            try:
                der = ssl.PEM_cert_to_DER_cert(pem)
            except ValueError:
                raise InputError("server_cert", "%s: not a PEM certificate" % path)
            return hashlib.sha256(der).hexdigest(), "server_cert %s" % path
        if self.params.get("trust_token"):
            # the token names the certificate of the server that made it, as `lxc remote add` trusts it:
            # the secret goes to that server only
            return token_fingerprint(self.params["trust_token"]), "the fingerprint in trust_token"
        return None

    def _ssl_context(self, pinned):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_cert_chain(self.params["client_cert"], self.params["client_key"])
        if pinned or not self.params.get("validate_certs", True):
            # LXD's server certificate is self-signed: it is pinned (its fingerprint compared after
            # the handshake), or not checked at all when validate_certs is false
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        else:
            context.load_default_certs()
        return context

    def _connect(self):
        if not self.remote:
            return _UnixConnection(_socket_path(self.url), self.timeout)
        parts = urlsplit(self.url)
        pinned = self._pinned()
        conn = http.client.HTTPSConnection(parts.hostname, parts.port or 8443, timeout=self.timeout,
                                           context=self._ssl_context(pinned))
        if pinned:
            conn.connect()
            have = hashlib.sha256(conn.sock.getpeercert(binary_form=True) or b"").hexdigest()
            if have != pinned[0]:
                conn.close()
                raise BackendUnavailable(
                    "the server at %s (url) presented a certificate (sha256 %s) other than %s (sha256 %s): "
                    "not the LXD you meant, or its certificate changed" % (self.url, have, pinned[1], pinned[0]))
        return conn

    def _conn(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = self._connect()
        return conn

    def close(self):
        conn = getattr(self.local, "conn", None)
        if conn is not None:
            conn.close()
            self.local.conn = None

    def path(self, path, query=None, project=True):
        query = dict(query or {})
        if project and self.project and "project" not in query:
            query["project"] = self.project
        return path + ("?" + urlencode(query) if query else "")

    def request(self, method, path, body=None, query=None, headers=None, project=True):
        """One HTTP exchange; returns the decoded JSON answer. Errors raise LxdError."""
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode("utf-8")
            headers = {"Content-Type": "application/json", **(headers or {})}
        url = self.path(path, query, project)
        for attempt in (1, 2):
            conn = self._conn()
            try:
                self.requests += 1
                conn.request(method, url, body=body, headers=headers or {})
                response = conn.getresponse()
                raw = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # a keep-alive connection the daemon closed meanwhile: reconnect once, and only
                # before anything could have been sent
                self.close()
                if attempt == 2 or (body is not None and hasattr(body, "read")):
                    raise
        try:
            answer = json.loads(raw.decode("utf-8")) if raw else {}
        except ValueError:
            raise LxdError(response.status, "not a JSON answer (HTTP %s): %r" % (response.status, raw[:200]))
        if answer.get("type") == "error" or response.status >= 400:
            raise LxdError(answer.get("error_code") or response.status, answer.get("error") or response.reason)
        return answer

    # ------------------------------------------------------------ API
    def get(self, path, query=None, project=True):
        """The metadata at `path`, or None when LXD says it does not exist."""
        try:
            return self.request("GET", path, query=query, project=project).get("metadata")
        except LxdError as exc:
            if exc.status == 404:
                return None
            raise

    def call(self, method, path, body=None, query=None, headers=None, what=None, project=True):
        """A request whose answer may be a background operation: waited for, and its metadata
        returned (for a synchronous answer, the answer's metadata)."""
        answer = self.request(method, path, body=body, query=query, headers=headers, project=project)
        if answer.get("type") != "async":
            return answer.get("metadata")
        return self.wait(answer["operation"], what or "%s %s" % (method, path))

    def wait(self, operation, what):
        """Wait for an LXD operation (its URL) to end; a failed or cancelled one is a BackendError."""
        op_path = operation.split("?")[0]

        def probe():
            try:
                return self.request("GET", op_path + "/wait", query={"timeout": 5}, project=False)["metadata"]
            except LxdError as exc:
                if exc.status == 404:  # ended and already forgotten: LXD keeps them a few seconds
                    return {"status_code": 200, "status": "Success", "metadata": None}
                raise

        def failed(op):
            if op.get("status_code") in (400, 401):
                return "LXD could not %s: %s" % (what, op.get("err") or op.get("status"))
            return None

        op = wait_for(probe, lambda o: o.get("status_code") == 200, self.timeout, "LXD to " + what,
                      interval=0, describe=lambda o: o.get("status"), fail=failed)
        return op.get("metadata")

    def listing(self, collection, recursion=1):
        """Every object of a collection (/1.0/instances, ...) with its details, in one call. Unlike
        `get`, a 404 is an error: LXD answers so for a project that does not exist."""
        return self.request("GET", collection, query={"recursion": recursion}).get("metadata") or []

    def server(self):
        """GET /1.0, and for a remote daemon that does not trust us yet, the trust request that
        the trust_password or trust_token allows; then that the project exists. Kept as `info`."""
        info = self.get("/1.0", project=False)
        if self.remote and info.get("auth") != "trusted":
            info = self._trust(info)
        if self.project and self.get(name_path("projects", self.project), project=False) is None:
            raise InputError("project", "LXD at %s has no project %r: create it (lxc project create %s) or "
                             "leave project unset for the default one" % (self.url, self.project, self.project))
        self.info = info
        return info

    def _trust(self, info):
        """Add the client certificate to the remote's trust store with the password or token."""
        token = self.params.get("trust_token")
        secret = token or self.params.get("trust_password")
        if not secret:
            raise BackendUnavailable(
                "LXD at %s does not trust the client certificate %s: give trust_password (the server's "
                "core.trust_password) or trust_token (made there by `lxc config trust add`), or add the "
                "certificate there yourself (lxc config trust add %s)"
                % (self.url, self.params.get("client_cert"), os.path.basename(self.params.get("client_cert") or "")))
        body = {"type": "client"}
        if token and "explicit_trust_token" in info.get("api_extensions", []):
            body["trust_token"] = secret
        else:
            body["password"] = secret  # LXD 5.0 takes a join token in the password field too
        try:
            self.request("POST", "/1.0/certificates", body=body, project=False)
        except LxdError as exc:
            if token:
                raise BackendUnavailable(
                    "LXD at %s refused the trust_token (%s): a token is good for one client only and may have "
                    "expired; make a new one there (lxc config trust add)" % (self.url, exc.message))
            raise BackendUnavailable(
                "LXD at %s refused the trust_password (%s): it must be the server's core.trust_password "
                "(lxc config set core.trust_password ... there)" % (self.url, exc.message))
        info = self.get("/1.0", project=False)
        if info.get("auth") != "trusted":
            raise BackendUnavailable("LXD at %s accepted the client certificate %s but does not trust it yet"
                                     % (self.url, self.params.get("client_cert")))
        return info


def name_path(kind, name):
    """The API path of one object: /1.0/<kind>/<name>, the name quoted."""
    return "/1.0/%s/%s" % (kind, quote(name, safe=""))


def base_name(url):
    """The name at the end of an API URL (/1.0/instances/web?project=x -> web)."""
    return unquote(url.split("?")[0].rstrip("/").rsplit("/", 1)[-1])


class LxdService(Service):
    """Base of the LXD services: connection options, client, error translation."""

    connection = CONNECTION

    def desired(self):
        check_connection(self.params)
        return super().desired()

    def connect(self):
        self.lxd = Lxd(self.params)
        self.lxd.server()

    def share_connection(self, other):
        self.lxd = other.lxd  # one client (one connection per worker thread) for every item

    def translate(self, exc):
        url = self.params.get("url") or "unix:" + _socket_path(None)
        if isinstance(exc, LxdError):
            return BackendError("LXD refused the request: %s" % exc.message, status_code=exc.status)
        if isinstance(exc, PermissionError):
            return BackendUnavailable("permission denied on the LXD socket %s (url): run as root or as a member "
                                      "of the lxd group" % url)
        if isinstance(exc, ssl.SSLCertVerificationError):
            return BackendUnavailable(
                "LXD at %s (url) presented a certificate this host cannot verify (%s). LXD's certificate is "
                "usually self-signed: pin it with server_cert (a copy of the server's server.crt), or set "
                "validate_certs false on a network you trust" % (url, exc.verify_message or exc))
        if isinstance(exc, ssl.SSLError):
            return BackendUnavailable("TLS handshake with LXD at %s (url) failed: %s. Check client_cert, "
                                      "client_key and server_cert (or validate_certs)" % (url, exc))
        if isinstance(exc, socket.timeout):
            return BackendError("LXD at %s did not answer within %ss (timeout)" % (url, self.params.get("timeout")))
        if isinstance(exc, (OSError, http.client.HTTPException)):
            return BackendUnavailable(
                "cannot connect to LXD at %s (url): %s. Start the LXD daemon on that host (for example "
                "systemctl start lxd, or snap start lxd) or point url at a running one"
                % (url, getattr(exc, "strerror", None) or exc))
        return None
