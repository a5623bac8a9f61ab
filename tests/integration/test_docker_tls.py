"""Docker modules over TCP with TLS, against a dockerd of this test's own: it listens on 127.0.0.1 (a
free port) with certificates the test makes (a CA, a server certificate for 127.0.0.1, a client
certificate; dockerd --tlsverify, so it also requires the client's), keeps its data, exec root and
pidfile in a directory of its own, makes no bridge and no iptables rules, and is stopped by its pid
afterwards. The main dockerd is not touched; each result is checked through the docker CLI over TLS,
and against the main daemon, which must not have what the TLS daemon got.

The daemon runs in a network namespace of its own (unshare --net) and is handed the listening socket,
bound here in the host's namespace, by socket activation (-H fd://): a dockerd started with
--bridge=none deletes the bridge docker0 of its network namespace, which on the host is the main
daemon's (moby's removeDefaultBridgeInterface), and every container of the main daemon would lose its
network."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import converge, run_module, sh
from lib.tls import cert_dir, make_certs

DOCKERD = "/usr/sbin/dockerd"


def _interface_index(name):
    try:
        with open("/sys/class/net/%s/ifindex" % name) as handle:
            return int(handle.read())
    except OSError:
        return None


def _ours(root):
    """PIDs of processes whose command line names the daemon's directory (dockerd and its containerd)."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                if root.encode() in handle.read():
                    pids.append(int(entry))
        except (OSError, ValueError):
            continue
    return pids


class TlsDockerd:
    def __init__(self, root):
        self.root = root
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))  # held from here on: no other process can take the port
        self.listener.listen(128)
        self.host = "tcp://127.0.0.1:%d" % self.listener.getsockname()[1]
        self.certs = make_certs(os.path.join(root, "certs"))
        self.data_root = os.path.join(root, "data")
        self.log = os.path.join(root, "dockerd.log")
        self.proc = None

    def start(self):
        config = os.path.join(self.root, "daemon.json")  # not /etc/docker/daemon.json of the main daemon
        with open(config, "w") as handle:
            handle.write("{}\n")
        # socket activation: the listening socket as fd 3 and LISTEN_PID the daemon's own pid (bash execs
        # dockerd in its own process, in the new network namespace)
        fd = self.listener.fileno()
        script = 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@" 3<&%d %d<&-' % (fd, fd)
        argv = ["unshare", "--net", "bash", "-c", script, DOCKERD,
                "--config-file", config, "--data-root", self.data_root, "--exec-root", os.path.join(self.root, "exec"),
                "--pidfile", os.path.join(self.root, "dockerd.pid"), "-H", "fd://",
                "--tlsverify", "--tlscacert", self.certs["ca"], "--tlscert", self.certs["server_cert"],
                "--tlskey", self.certs["server_key"], "--bridge=none", "--iptables=false", "--ip-masq=false", "--debug"]
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         pass_fds=(fd,), start_new_session=True)
        self.listener.close()  # the daemon has it
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail("dockerd exited with %s:\n%s" % (self.proc.returncode, self.tail()))
            if self.cli("version", "--format", "{{.Server.Version}}", check=False).returncode == 0:
                return time.monotonic() - (deadline - 30)
            time.sleep(0.2)
        pytest.fail("dockerd on %s did not answer within 30 s:\n%s" % (self.host, self.tail()))

    def stop(self):
        """SIGTERM to our dockerd's pid (it stops its containerd), SIGKILL after 20 s; then any process
        of ours still naming the directory, by pid."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        for pid in _ours(self.root):
            os.kill(pid, signal.SIGKILL)

    def tail(self):
        with open(self.log, errors="replace") as handle:
            return handle.read()[-3000:]

    def cli(self, *argv, check=True):
        """The docker CLI against this daemon, over TLS with verification: the independent path."""
        return sh("docker", "--host", self.host, "--tlsverify", "--tlscacert", self.certs["ca"],
                  "--tlscert", self.certs["client_cert"], "--tlskey", self.certs["client_key"], *argv,
                  check=check, timeout=60)

    def connection(self, **kw):
        """The module options that reach this daemon with verified TLS."""
        return {"docker_host": self.host, "validate_certs": True, "ca_path": self.certs["ca"],
                "client_cert": self.certs["client_cert"], "client_key": self.certs["client_key"], **kw}

    def requests_for(self, path):
        """The API paths this daemon logged a call of (dockerd --debug: 'Calling GET /v1.40/info')."""
        with open(self.log, errors="replace") as handle:
            return [line for line in handle if "Calling" in line and path in line]


@pytest.fixture(scope="module")
def dockerd(docker_daemon):  # the main daemon must be up: the tests check it did not get the objects
    if not os.path.exists(DOCKERD):
        pytest.fail("%s missing: the TLS tests run a dockerd of their own" % DOCKERD)
    bridge = sh("docker", "network", "inspect", "bridge", "--format",
                '{{index .Options "com.docker.network.bridge.name"}}').stdout.strip()
    index = _interface_index(bridge)
    root = tempfile.mkdtemp(prefix="vct-dockerd-tls-")  # short: containerd's socket path lies under it
    daemon = TlsDockerd(root)
    try:
        daemon.started_in = daemon.start()
        yield daemon
    finally:
        daemon.stop()
        left = _ours(root)
        shutil.rmtree(root, ignore_errors=not left)
        assert not left, "processes of the TLS dockerd left behind: %s" % left
        assert _interface_index(bridge) == index, "the main daemon's bridge %s is gone or was replaced" % bridge


@pytest.fixture(autouse=True)
def system_ca_bundle(monkeypatch):
    """requests lets REQUESTS_CA_BUNDLE replace a session's CA: with it set (as on many hosts), the
    daemon must still be checked against ca_path and nothing else."""
    bundle = "/etc/ssl/certs/ca-certificates.crt"
    if os.path.exists(bundle):
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    for name in ("DOCKER_HOST", "DOCKER_TLS", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_API_VERSION",
                 "DOCKER_TLS_HOSTNAME"):
        monkeypatch.delenv(name, raising=False)


def test_the_daemon_is_ours_and_quick(dockerd):  # pylint: disable=redefined-outer-name
    assert dockerd.started_in < 15, "dockerd took %.1f s to answer" % dockerd.started_in
    assert dockerd.cli("info", "--format", "{{.DockerRootDir}}").stdout.strip() == dockerd.data_root
    # the main daemon answers as before, from its own data (both share /etc/docker/key.json, so the ID)
    assert sh("docker", "info", "--format", "{{.DockerRootDir}}").stdout.strip() != dockerd.data_root
    # in a network namespace of its own: the host's interfaces, docker0 among them, are not its
    ns = os.readlink("/proc/%d/ns/net" % dockerd.proc.pid)
    assert ns != os.readlink("/proc/self/ns/net"), ns


def test_info_over_verified_tls(dockerd):  # pylint: disable=redefined-outer-name
    info = run_module("docker_info", **dockerd.connection())
    assert not info.get("failed"), info
    assert info["host"]["root_dir"] == dockerd.data_root  # this daemon, not the main one
    assert info["host"]["id"] == dockerd.cli("info", "--format", "{{.ID}}").stdout.strip()
    cli_networks = set(dockerd.cli("network", "ls", "--format", "{{.Name}}").stdout.split())
    assert {n["name"] for n in info["networks"]} == cli_networks


def test_a_volume_over_tls_converges_and_stays_on_that_daemon(dockerd, unique):  # pylint: disable=redefined-outer-name
    spec = dockerd.connection(name=unique, labels={"purpose": "tls"})
    try:
        applied = converge("docker_volume", **spec)
        assert applied["volume"]["name"] == unique
        inspected = dockerd.cli("volume", "inspect", unique, "--format", "{{json .Labels}}").stdout
        assert '"purpose":"tls"' in inspected
        assert sh("docker", "volume", "inspect", unique, check=False).returncode != 0  # not on the main daemon
        named = run_module("docker_info", **dockerd.connection(volumes=[unique, unique + "-none"]))
        assert [(v["name"], v["exists"]) for v in named["volumes"]] == [(unique, True), (unique + "-none", False)]
        removed = run_module("docker_volume", **dict(spec, state="absent"))
        assert removed["changed"] is True, removed
        assert dockerd.cli("volume", "inspect", unique, check=False).returncode != 0
    finally:
        dockerd.cli("volume", "rm", "-f", unique, check=False)


def test_tls_without_verification_encrypts_only(dockerd):  # pylint: disable=redefined-outer-name
    """tls: true with the client certificate the daemon requires, but no CA: connects without
    checking the daemon (the CA of another authority would not matter)."""
    result = run_module("docker_info", docker_host=dockerd.host, tls=True, client_cert=dockerd.certs["client_cert"],
                        client_key=dockerd.certs["client_key"], images=False, containers=False)
    assert result["host"]["root_dir"] == dockerd.data_root, result


@pytest.mark.parametrize("change, option, fragment", [
    ({"ca_path": "other_ca"}, "ca_path", "does not verify against the CA in ca_path"),
    ({"client_cert": None, "client_key": None}, "client_cert", "requires a client certificate"),
    ({"client_cert": "other_client_cert", "client_key": "other_client_key"}, "client_cert",
     "refused the client certificate in client_cert"),
    ({"tls_hostname": "docker.example"}, "tls_hostname", "is not valid for the name checked (tls_hostname"),
    ({"validate_certs": False, "ca_path": None, "client_cert": None, "client_key": None}, "validate_certs",
     "expects TLS: set validate_certs: true"),
    ({"api_version": "1.99"}, "api_version", "does not speak API version 1.99"),
    ({"api_version": "banana"}, "api_version", "'banana' is not a Docker API version"),
], ids=["wrong CA", "no client certificate", "client certificate of another CA", "wrong name",
        "plain HTTP", "API too new", "not a version"])
def test_what_goes_wrong_names_the_option_to_fix(dockerd, change, option, fragment):  # pylint: disable=redefined-outer-name
    args = dockerd.connection(**{key: dockerd.certs.get(value, value) if isinstance(value, str) else value
                                 for key, value in change.items()})
    for check in (True, False):
        result = run_module("docker_volume", check=check, name="vct-tls-never", **args)
        assert result.get("failed") is True, result
        assert fragment in result["msg"] and option in result["msg"], result["msg"]
        assert "Traceback" not in result["msg"] and "\n" not in result["msg"]
        assert result.get("changed") is False and not result.get("actions"), result
    assert dockerd.cli("volume", "inspect", "vct-tls-never", check=False).returncode != 0


def test_a_pinned_older_api_version_is_spoken(dockerd):  # pylint: disable=redefined-outer-name
    newest = dockerd.cli("version", "--format", "{{.Server.APIVersion}}").stdout.strip()
    major, minor = newest.split(".")
    older = "%s.%d" % (major, int(minor) - 1)
    before = len(dockerd.requests_for("/v%s/info" % older))
    result = run_module("docker_info", **dockerd.connection(api_version=older, images=False, containers=False))
    assert result["host"]["root_dir"] == dockerd.data_root, result
    assert len(dockerd.requests_for("/v%s/info" % older)) == before + 1, "dockerd logged no call of /v%s/info" % older


def test_the_environment_alone_reaches_the_daemon(dockerd, tmp_path, monkeypatch):  # pylint: disable=redefined-outer-name
    """DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) and DOCKER_API_VERSION,
    as the Docker CLI reads them, with no connection option in the task."""
    monkeypatch.setenv("DOCKER_HOST", dockerd.host)
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    monkeypatch.setenv("DOCKER_CERT_PATH", cert_dir(dockerd.certs, str(tmp_path / "docker")))
    result = run_module("docker_info", images=False, containers=False)
    assert result.get("host", {}).get("root_dir") == dockerd.data_root, result
    monkeypatch.setenv("DOCKER_API_VERSION", "1.40")
    before = len(dockerd.requests_for("/v1.40/info"))
    assert run_module("docker_info", images=False, containers=False, networks=False, volumes=False)["host"]
    assert len(dockerd.requests_for("/v1.40/info")) == before + 1
    # the task's own option wins over the environment
    overridden = run_module("docker_info", ca_path=dockerd.certs["other_ca"], images=False)
    assert overridden.get("failed") and "ca_path" in overridden["msg"], overridden
    # TLS asked for by the environment, but no CA anywhere
    monkeypatch.setenv("DOCKER_CERT_PATH", str(tmp_path / "empty"))
    missing = run_module("docker_info", images=False)
    assert missing.get("failed") and missing["msg"].startswith("ca_path:"), missing
