# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small OVSDB client (RFC 7047: JSON-RPC 1.0 over a unix or tcp stream socket), and the codec
between OVSDB's JSON values and Python ones.

Only the standard library: the `ovs` Python package is a compiled extension that managed hosts
rarely carry, and the protocol needs nothing more than a socket and json."""

from __future__ import annotations

import codecs
import errno
import json
import socket as _socket
import time

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    BackendUnavailable,
    InputError,
)

DEFAULT_REMOTE = "unix:/var/run/openvswitch/db.sock"
_CHUNK = 65536


class OvsdbError(BackendError):
    """OVSDB refused a request: ``error`` and ``ovsdb_details`` are what the server said (the
    ``details`` attribute of every virtcloud error is the dict of extra result keys), ``index``
    the failing operation of a transaction (None for the commit itself or a transport error)."""

    def __init__(self, msg, error=None, ovsdb_details=None, index=None):
        extra = {"ovsdb_error": error} if error else {}
        super().__init__(msg, **extra)
        self.error = error
        self.ovsdb_details = ovsdb_details
        self.index = index


# ---------------------------------------------------------------- codec
class Uuid(str):
    """A row's UUID as OVSDB gives it: ["uuid", "…"]."""


class NamedUuid(str):
    """The name a transaction gives a row it inserts, to refer to it before it has a UUID."""


def decode(value):
    """An OVSDB value as Python: ["set", [...]] -> list, ["map", [[k, v], ...]] -> dict,
    ["uuid", u] -> Uuid, ["named-uuid", n] -> NamedUuid; a scalar stays as it is (a set of one
    element is sent as that element: `as_list`/`as_optional` undo that when the column is a set)."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        kind, data = value
        if kind == "set":
            return [decode(item) for item in data]
        if kind == "map":
            return {decode(key): decode(item) for key, item in data}
        if kind == "uuid":
            return Uuid(data)
        if kind == "named-uuid":
            return NamedUuid(data)
    if isinstance(value, list):
        raise ValueError("not an OVSDB value: %r" % (value,))
    return value


def as_list(value):
    """A set column (sent as ["set", [...]] or, with one element, as that element) as a list."""
    decoded = decode(value)
    return decoded if isinstance(decoded, list) else [decoded]


def as_optional(value):
    """An optional column (a set of at most one element) as its element or None."""
    items = as_list(value)
    if len(items) > 1:
        raise ValueError("an optional OVSDB value with %d elements: %r" % (len(items), value))
    return items[0] if items else None


def as_map(value):
    """A map column as a dict (an empty map may come as an empty set)."""
    decoded = decode(value)
    return decoded if isinstance(decoded, dict) else dict(decoded or ())


def encode(value):
    """A Python value as OVSDB JSON: dict -> map (keys sorted), list/tuple/set/frozenset -> set,
    None -> the empty set (an optional column cleared), Uuid/NamedUuid -> their pairs, a scalar
    as it is."""
    if isinstance(value, Uuid):
        return ["uuid", str(value)]
    if isinstance(value, NamedUuid):
        return ["named-uuid", str(value)]
    if value is None:
        return ["set", []]
    if isinstance(value, dict):
        return ["map", [[encode(key), encode(item)] for key, item in sorted(value.items())]]
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value) if isinstance(value, (set, frozenset)) else list(value)
        return ["set", [encode(item) for item in items]]
    return value


def encode_row(row):
    """A row's columns (a dict) encoded for insert/update/wait."""
    return {column: encode(value) for column, value in row.items()}


def decode_row(row):
    """A selected row as Python, `decode` applied to every column."""
    return {column: decode(value) for column, value in row.items()}


class Framer:
    """Splits a byte stream into the JSON values it carries. OVSDB sends them back to back, with
    no length or delimiter, and a read may end anywhere (inside a value, inside a UTF-8
    sequence), so bytes are decoded incrementally and each complete value is cut off the front
    of the buffer with JSONDecoder.raw_decode."""

    def __init__(self):
        self._text = codecs.getincrementaldecoder("utf-8")()
        self._buffer = ""
        self._json = json.JSONDecoder()

    def feed(self, data):
        """Add received bytes; return the list of the complete values they finished."""
        self._buffer += self._text.decode(data)
        messages = []
        while True:
            text = self._buffer.lstrip()
            if not text:
                self._buffer = ""
                return messages
            if text[0] not in "{[":
                raise ValueError("OVSDB sent something that is not a JSON-RPC message: %r" % text[:80])
            try:
                message, end = self._json.raw_decode(text)
            except ValueError:
                # incomplete: wait for more (a value that never completes ends in the read timeout)
                self._buffer = text
                return messages
            messages.append(message)
            self._buffer = text[end:]

    @property
    def pending(self):
        """Received characters not yet part of a complete value."""
        return self._buffer.strip()


# ---------------------------------------------------------------- remotes
def parse_remote(remote):
    """("unix", path) or ("tcp", (host, port)) for unix:PATH, a bare /path, or tcp:HOST:PORT
    (tcp:[v6]:PORT). Anything else is an InputError on the `ovsdb` option."""
    remote = remote or DEFAULT_REMOTE
    if remote.startswith("/"):
        return "unix", remote
    kind, _sep, rest = remote.partition(":")
    if kind == "unix" and rest:
        return "unix", rest
    if kind == "tcp":
        host, _sep, port = rest.rpartition(":")
        host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if host and port.isdigit() and 0 < int(port) < 65536:
            return "tcp", (host, int(port))
    raise InputError("ovsdb", "%r is not an OVSDB socket: use unix:PATH (default %s) or tcp:IP:PORT"
                     % (remote, DEFAULT_REMOTE))


class Ovsdb:
    """One connection to an OVSDB server, opened at the first request. ``requests`` counts the
    round trips made (for tests and benchmarks); ``timeout`` bounds connecting and each answer."""

    def __init__(self, remote=None, timeout=30):
        self.remote = remote or DEFAULT_REMOTE
        self.address = parse_remote(self.remote)
        self.timeout = timeout
        self.requests = 0
        self._sock = None
        self._framer = None
        self._next_id = 0

    # -------------------------------------------------------- connection
    def connect(self):
        """Open the connection now (the first request does it otherwise): BackendUnavailable
        when nothing answers on the socket."""
        if self._sock is None:
            self._connect()

    def _connect(self):
        kind, address = self.address
        family = _socket.AF_UNIX if kind == "unix" else _socket.AF_INET6 if ":" in address[0] else _socket.AF_INET
        sock = _socket.socket(family, _socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(address)
        except OSError as exc:
            sock.close()
            reason = exc.strerror or str(exc)
            if isinstance(exc, _socket.timeout):
                reason = "no answer within %s s" % self.timeout
            elif exc.errno == errno.EACCES:
                raise BackendUnavailable(
                    "cannot connect to Open vSwitch at %s (ovsdb): %s; run as root or as a user the socket admits"
                    % (self.remote, reason), remote=self.remote)
            raise BackendUnavailable("cannot connect to Open vSwitch at %s (ovsdb): %s. Start ovsdb-server and "
                                     "ovs-vswitchd on that host (for example systemctl start openvswitch-switch) or "
                                     "point ovsdb at a running one" % (self.remote, reason), remote=self.remote)
        self._sock = sock
        self._framer = Framer()

    def close(self):
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._framer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def _transport_error(self, problem):
        self.close()
        return OvsdbError("OVSDB %s: %s" % (self.remote, problem))

    def _send(self, message):
        try:
            self._sock.sendall(json.dumps(message, separators=(",", ":")).encode("utf-8"))
        except OSError as exc:
            raise self._transport_error("sending failed (%s)" % (exc.strerror or exc))

    def _receive(self, deadline):
        """The next messages from the server (at least one)."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._transport_error("no answer within %s s" % self.timeout)
            self._sock.settimeout(remaining)
            try:
                data = self._sock.recv(_CHUNK)
            except _socket.timeout:
                raise self._transport_error("no answer within %s s" % self.timeout)
            except OSError as exc:
                raise self._transport_error("receiving failed (%s)" % (exc.strerror or exc))
            if not data:
                raise self._transport_error("the server closed the connection")
            try:
                messages = self._framer.feed(data)
            except ValueError as exc:
                raise self._transport_error(str(exc))
            if messages:
                return messages

    # -------------------------------------------------------- requests
    def call(self, method, params):
        """One JSON-RPC request; its result. Answers the server's echo requests meanwhile and
        ignores notifications (updates of monitors this client does not set up)."""
        if self._sock is None:
            self._connect()
        self._next_id += 1
        request_id = self._next_id
        self.requests += 1
        self._send({"method": method, "params": params, "id": request_id})
        deadline = time.monotonic() + self.timeout
        while True:
            for message in self._receive(deadline):
                if message.get("method") == "echo":
                    self._send({"result": message.get("params", []), "error": None, "id": message.get("id")})
                    continue
                if "method" in message or message.get("id") != request_id:
                    continue
                if message.get("error") is not None:
                    error = message["error"]
                    text = error.get("error", error) if isinstance(error, dict) else error
                    raise OvsdbError("OVSDB %s failed: %s" % (method, text), error=str(text),
                                     ovsdb_details=error.get("details") if isinstance(error, dict) else None)
                return message.get("result")

    def transact(self, db, ops):
        """Run `ops` (a list of operation dicts) as one transaction of database `db`; the list of
        their results. Any error (of an operation, or of the commit, which OVSDB reports as an
        extra result) raises OvsdbError naming the operation and what the server said."""
        results = self.call("transact", [db] + list(ops))
        if not isinstance(results, list):
            raise OvsdbError("OVSDB transact answered %r instead of a list of results" % (results,))
        for index, outcome in enumerate(results):
            if isinstance(outcome, dict) and outcome.get("error"):
                op = ops[index] if index < len(ops) else None
                where = ("operation %d (%s %s)" % (index, op.get("op"), op.get("table", ""))).rstrip() \
                    if op else "the commit"
                details = outcome.get("details")
                raise OvsdbError("OVSDB transaction failed at %s: %s%s"
                                 % (where, outcome["error"], ": %s" % details if details else ""),
                                 error=outcome["error"], ovsdb_details=details, index=index if op else None)
        return results[:len(ops)]

    def schema(self, db):
        return self.call("get_schema", [db])
