"""The OVSDB client without a real server: the value codec, the stream framing, and the JSON-RPC
exchange against a scripted server on a unix socket (echo, split answers, errors, timeouts)."""

from __future__ import annotations

import json
import os
import socket
import threading

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    BackendUnavailable,
    InputError,
)
from ansible_collections.virtcloud.core.plugins.module_utils.net.ovsdb import (
    DEFAULT_REMOTE,
    Framer,
    NamedUuid,
    Ovsdb,
    OvsdbError,
    Uuid,
    as_list,
    as_map,
    as_optional,
    decode,
    encode,
    encode_row,
    parse_remote,
)

U1 = "0b2a1c4e-1111-4aaa-8bbb-000000000001"
U2 = "0b2a1c4e-1111-4aaa-8bbb-000000000002"


# ---------------------------------------------------------------- codec
def test_decode_every_kind_of_value():
    assert decode(["set", [1, 2, 3]]) == [1, 2, 3]
    assert decode(["set", []]) == []
    tunnel = {"remote_ip": "198.18.1.12", "key": "4242"}
    assert decode(["map", [["remote_ip", "198.18.1.12"], ["key", "4242"]]]) == tunnel
    uuid = decode(["uuid", U1])
    assert isinstance(uuid, Uuid) and uuid == U1
    named = decode(["named-uuid", "port"])
    assert isinstance(named, NamedUuid) and named == "port"
    assert decode(["set", [["uuid", U1], ["uuid", U2]]]) == [U1, U2]
    assert isinstance(decode(["set", [["uuid", U1]]])[0], Uuid)
    assert decode(["map", [[1, ["uuid", U1]]]]) == {1: U1}
    for scalar in ("netdev", 4242, 1.5, True, ""):
        assert decode(scalar) == scalar
    with pytest.raises(ValueError):
        decode(["bogus", 1, 2])


def test_set_columns_sent_as_one_element_and_optional_columns():
    # OVSDB sends a set of exactly one element as that element
    assert as_list("OpenFlow13") == ["OpenFlow13"]
    assert as_list(["set", ["OpenFlow10", "OpenFlow13"]]) == ["OpenFlow10", "OpenFlow13"]
    assert as_list(["uuid", U1]) == [U1]
    assert as_optional(["set", []]) is None
    assert as_optional(10) == 10
    assert as_optional("secure") == "secure"
    with pytest.raises(ValueError):
        as_optional(["set", [1, 2]])
    assert as_map(["map", []]) == {}
    assert as_map(["set", []]) == {}
    assert as_map(["map", [["a", "1"]]]) == {"a": "1"}


def test_encode_python_values():
    assert encode({"remote_ip": "198.18.1.12", "key": "4242"}) == ["map", [["key", "4242"],
                                                                           ["remote_ip", "198.18.1.12"]]]
    assert encode({}) == ["map", []]
    assert encode([3, 1]) == ["set", [3, 1]]
    assert encode({3, 1, 2}) == ["set", [1, 2, 3]]
    assert encode(()) == ["set", []]
    assert encode(None) == ["set", []]
    assert encode(Uuid(U1)) == ["uuid", U1]
    assert encode(NamedUuid("iface")) == ["named-uuid", "iface"]
    assert encode([NamedUuid("a"), Uuid(U2)]) == ["set", [["named-uuid", "a"], ["uuid", U2]]]
    assert encode("netdev") == "netdev" and encode(7) == 7
    assert encode_row({"name": "vcx", "tag": None, "trunks": [1, 2]}) == {"name": "vcx", "tag": ["set", []],
                                                                          "trunks": ["set", [1, 2]]}


@pytest.mark.parametrize("value", [
    {"a": "1", "b": "2"}, [1, 2, 3], [Uuid(U1), Uuid(U2)], "x", 0, {"k": Uuid(U1)},
])
def test_encode_decode_round_trip(value):
    assert decode(encode(value)) == value


# ---------------------------------------------------------------- framing
def _wire(*messages):
    return b"".join(json.dumps(message).encode() for message in messages)


def test_framer_partial_reads_byte_by_byte():
    message = {"id": 1, "result": [{"rows": [{"name": "vcbr\u00e9"}]}], "error": None}
    framer = Framer()
    seen = []
    data = _wire(message)
    for index in range(len(data)):
        seen += framer.feed(data[index:index + 1])
        if index < len(data) - 1:
            assert not seen  # nothing complete before the last byte (the é is split across reads too)
    assert seen == [message]
    assert framer.pending == ""


def test_framer_two_messages_in_one_read_and_one_split_over_two():
    first, second, third = {"id": 1, "result": []}, {"method": "echo", "params": [], "id": "echo"}, {"id": 2}
    data = _wire(first, second) + b"\n " + _wire(third)
    cut = len(data) - 3
    framer = Framer()
    assert framer.feed(data[:cut]) == [first, second]
    assert framer.pending.startswith("{")
    assert framer.feed(data[cut:]) == [third]
    assert framer.pending == ""


def test_framer_refuses_what_is_not_a_message():
    with pytest.raises(ValueError):
        Framer().feed(b"HTTP/1.1 400 Bad Request\r\n")


# ---------------------------------------------------------------- remotes
def test_parse_remote():
    assert parse_remote(None) == ("unix", "/var/run/openvswitch/db.sock")
    assert DEFAULT_REMOTE == "unix:/var/run/openvswitch/db.sock"
    assert parse_remote("unix:/tmp/x.sock") == ("unix", "/tmp/x.sock")
    assert parse_remote("/tmp/x.sock") == ("unix", "/tmp/x.sock")
    assert parse_remote("tcp:198.18.1.1:6640") == ("tcp", ("198.18.1.1", 6640))
    assert parse_remote("tcp:[::1]:6640") == ("tcp", ("::1", 6640))
    for bad in ("ssl:198.18.1.1:6640", "tcp:198.18.1.1", "tcp:198.18.1.1:99999", "unix:", "db.sock"):
        with pytest.raises(InputError) as info:
            parse_remote(bad)
        assert info.value.option == "ovsdb"


# ---------------------------------------------------------------- a scripted server
class Server:
    """A one-connection OVSDB stand-in on a unix socket: `script(conn, receive)` runs in a thread;
    `receive()` returns the client's next message. What the script saw is kept in `received`."""

    def __init__(self, path, script):
        self.path = path
        self.received = []
        self.error = None
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(path)
        self._listener.listen(1)
        self._thread = threading.Thread(target=self._serve, args=(script,), daemon=True)
        self._thread.start()

    def _serve(self, script):
        conn, _address = self._listener.accept()
        framer, queue = Framer(), []

        def receive():
            while not queue:
                data = conn.recv(4096)
                if not data:
                    raise EOFError("client closed")
                queue.extend(framer.feed(data))
            message = queue.pop(0)
            self.received.append(message)
            return message
        try:
            script(conn, receive)
        except Exception as exc:  # pylint: disable=broad-except  # reported by close()
            self.error = exc
        finally:
            conn.close()

    def close(self):
        self._thread.join(10)
        self._listener.close()
        assert not self._thread.is_alive()
        if self.error is not None:
            raise self.error


@pytest.fixture
def serve(tmp_path):
    servers = []

    def start(script):
        server = Server(str(tmp_path / "db.sock"), script)
        servers.append(server)
        return server
    yield start
    for server in servers:
        server.close()


def test_echo_is_answered_while_waiting_and_a_split_answer_is_read(serve):
    rows = [{"name": "vcbr0"}]

    def script(conn, receive):
        request = receive()
        assert request["method"] == "transact" and request["params"][0] == "Open_vSwitch"
        conn.sendall(_wire({"method": "echo", "params": ["ping", 1], "id": "echo"}))
        echo_reply = receive()
        assert echo_reply == {"result": ["ping", 1], "error": None, "id": "echo"}
        # a notification for a monitor the client never set up is ignored
        answer = _wire({"method": "update", "params": [None, {}], "id": None},
                       {"id": request["id"], "result": [{"rows": rows}], "error": None})
        conn.sendall(answer[:7])
        conn.sendall(answer[7:])
        request = receive()
        conn.sendall(_wire({"id": request["id"], "result": [{}], "error": None}))

    server = serve(script)
    client = Ovsdb("unix:" + server.path)
    assert client.transact("Open_vSwitch", [{"op": "select", "table": "Bridge", "where": []}]) == [{"rows": rows}]
    assert client.transact("Open_vSwitch", [{"op": "comment", "comment": "x"}]) == [{}]
    assert client.requests == 2  # the echo reply is no request of ours
    client.close()


def _answer(results):
    def script(conn, receive):
        request = receive()
        conn.sendall(_wire({"id": request["id"], "result": results, "error": None}))
    return script


def test_a_failing_operation_raises_with_its_error_and_details(serve):
    ops = [{"op": "insert", "table": "Port", "row": {}},
           {"op": "wait", "table": "Bridge", "where": [], "until": "==", "rows": [], "timeout": 0}]
    server = serve(_answer([{"uuid": ["uuid", U1]}, {"error": "timed out", "details": "\"wait\" timed out"}]))
    with pytest.raises(OvsdbError) as info:
        Ovsdb("unix:" + server.path).transact("Open_vSwitch", ops)
    error = info.value
    assert isinstance(error, BackendError)
    assert (error.error, error.ovsdb_details, error.index) == ("timed out", '"wait" timed out', 1)
    assert "operation 1 (wait Bridge): timed out" in error.msg
    assert error.details == {"ovsdb_error": "timed out"}


def test_a_failing_commit_raises_as_the_extra_result(serve):
    server = serve(_answer([{"uuid": ["uuid", U1]}, {"error": "constraint violation",
                                                     "details": "Transaction causes multiple rows in \"Port\""}]))
    with pytest.raises(OvsdbError) as info:
        Ovsdb("unix:" + server.path).transact("Open_vSwitch", [{"op": "insert", "table": "Port", "row": {}}])
    assert info.value.index is None and info.value.error == "constraint violation"
    assert "at the commit: constraint violation: Transaction causes multiple rows" in info.value.msg


def test_a_json_rpc_error_raises(serve):
    def script(conn, receive):
        request = receive()
        error = {"error": "unknown database", "details": "get_schema asked for x"}
        conn.sendall(_wire({"id": request["id"], "result": None, "error": error}))
    server = serve(script)
    with pytest.raises(OvsdbError) as info:
        Ovsdb("unix:" + server.path).schema("x")
    assert info.value.error == "unknown database" and "get_schema failed: unknown database" in info.value.msg


def test_a_server_that_closes_or_says_nothing_is_a_transport_error(serve):
    def hang_up(conn, receive):
        receive()

    server = serve(hang_up)
    client = Ovsdb("unix:" + server.path, timeout=5)
    with pytest.raises(OvsdbError, match="the server closed the connection"):
        client.transact("Open_vSwitch", [])
    server.close()

    done = threading.Event()

    def silent(conn, receive):
        receive()
        done.wait(5)

    os.unlink(server.path)
    server = serve(silent)
    client = Ovsdb("unix:" + server.path, timeout=0.3)
    with pytest.raises(OvsdbError, match="no answer within 0.3 s"):
        client.transact("Open_vSwitch", [])
    done.set()


def test_no_socket_is_backend_unavailable_with_what_to_do(tmp_path):
    missing = "unix:%s" % (tmp_path / "db.sock")
    with pytest.raises(BackendUnavailable) as info:
        Ovsdb(missing).transact("Open_vSwitch", [])
    assert info.value.msg.startswith("cannot connect to Open vSwitch at %s (ovsdb): " % missing)
    assert info.value.msg.endswith("(for example systemctl start openvswitch-switch) or point ovsdb at a running one")

    refused = tmp_path / "refused.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(refused))
    listener.close()  # the socket file stays, nobody listens: connection refused
    with pytest.raises(BackendUnavailable, match="Connection refused"):
        Ovsdb("unix:%s" % refused).transact("Open_vSwitch", [])
