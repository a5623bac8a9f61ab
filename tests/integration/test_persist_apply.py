"""net/persist for real: what each renderer writes is applied by the tool itself in a throw-away
network namespace and the result read back through `ip -j` / `bridge -j` is compared with the
object that was asked for.

- ifupdown: `ifup -i FILE --state-dir DIR -a` (Debian ifupdown 0.8 + bridge-utils), then `ifdown -a`.
- networkd: the real systemd-networkd binary, run in the namespace with a private mount namespace
  (our files bind-mounted on /etc/systemd/network, private /run/systemd, read-only /sys so that it
  does not wait for udev); its log must not complain about any line of our files.
- nm_keyfile: no NetworkManager daemon may run here (it would take over the host's network), so
  libnm's own keyfile reader (NM.keyfile_read + verify, through the system python3-gi) parses each
  file and the values it reads are compared; every section/key must be in the documented key table.
Only 198.18.0.0/15 addresses; every object lives in a namespace that is deleted afterwards.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import re
import subprocess
import time

import pytest

from conftest import sh
from ansible_collections.virtcloud.core.plugins.module_utils.net import persist

NETWORKD = "/lib/systemd/systemd-networkd"
SYSTEM_PYTHON = "/usr/bin/python3"


@pytest.fixture
def netns(unique):
    """A fresh network namespace with two veth pairs (the bridge ports) whose far ends are up."""
    name = "vcns" + unique[3:]
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        for index in (1, 2):
            sh("ip", "-n", name, "link", "add", "vcp%d" % index, "type", "veth", "peer", "name", "vcq%d" % index)
            sh("ip", "-n", name, "link", "set", "vcq%d" % index, "up")
        yield name
    finally:
        sh("ip", "netns", "del", name, check=False)


def objects(unique):
    tag = unique[-5:]
    bridge = {"kind": "bridge", "name": "vcbr" + tag, "enabled": True, "mtu": 1400,
              "addresses": ["198.19.0.1/24", "198.19.1.1/24"], "ports": ["vcp1", "vcp2"],
              "stp": True, "forward_delay": 2, "vlan_filtering": None}
    # a port's MTU below the bridge's would lower the bridge's: keep it above
    fanout = {"kind": "vxlan", "name": "vcvx" + tag, "enabled": True, "mtu": 1450, "addresses": None, "vni": 4242,
              "local": "198.18.1.2", "remotes": ["198.18.1.3", "198.18.1.4"], "group": None, "dev": None,
              "port": 4789, "learning": False, "bridge": bridge["name"]}
    single = {"kind": "vxlan", "name": "vcvy" + tag, "enabled": False, "mtu": 1450, "addresses": ["198.19.5.1/24"],
              "vni": 4343, "local": "198.18.1.2", "remotes": ["198.18.1.5"], "group": None, "dev": None,
              "port": 4790, "learning": True, "bridge": None}
    return [bridge, fanout, single]


def ns_json(ns, *argv):
    out = sh("ip", "netns", "exec", ns, *argv).stdout
    return json.loads(out) if out.strip() else []


def mismatches(ns, obj, objs):
    """What in namespace `ns` differs from `obj` (empty when the live object is what was asked);
    a bridge's ports are its own plus the objects of `objs` that name it as their bridge."""
    links = {link["ifname"]: link for link in ns_json(ns, "ip", "-j", "-d", "link", "show")}
    link = links.get(obj["name"])
    if link is None:
        return ["%s does not exist (links: %s)" % (obj["name"], sorted(links))]
    info = link.get("linkinfo", {})
    data = info.get("info_data", {})
    got = {"kind": info.get("info_kind"), "mtu": link["mtu"], "enabled": "UP" in link["flags"]}
    want = {"kind": obj["kind"], "mtu": obj["mtu"], "enabled": obj["enabled"]}
    if obj["addresses"] is not None:
        addrs = ns_json(ns, "ip", "-j", "addr", "show", "dev", obj["name"])[0].get("addr_info", [])
        got["addresses"] = sorted("%s/%d" % (a["local"], a["prefixlen"]) for a in addrs if a.get("scope") == "global")
        want["addresses"] = sorted(obj["addresses"])
    if obj["kind"] == "bridge":
        got.update(ports=sorted(name for name, other in links.items() if other.get("master") == obj["name"]),
                   stp=data.get("stp_state") != 0, forward_delay=data.get("forward_delay", 0) // 100)
        want.update(ports=sorted(obj["ports"] + [other["name"] for other in objs if other.get("bridge") == obj["name"]]),
                    stp=obj["stp"], forward_delay=obj["forward_delay"])
    if obj["kind"] == "vxlan":
        remotes = obj["remotes"]
        fdb = ns_json(ns, "bridge", "-j", "fdb", "show", "dev", obj["name"])
        got.update(vni=data.get("id"), port=data.get("port"), local=data.get("local"), remote=data.get("remote"),
                   learning=data.get("learning"), master=link.get("master"),
                   flood=sorted(e["dst"] for e in fdb if e.get("mac") == persist.ZERO_MAC and "dst" in e))
        want.update(vni=obj["vni"], port=obj["port"], local=obj["local"],
                    remote=remotes[0] if len(remotes) == 1 else None, learning=obj["learning"],
                    master=obj["bridge"], flood=sorted(remotes))     # the kernel shows `remote` as a flood entry too
    return ["%s %s: %r, asked %r" % (obj["name"], key, got.get(key), value)
            for key, value in want.items() if value is not None and got.get(key) != value]


def settle(ns, objs, seconds=20):
    """Wait (bounded) until the namespace holds every object as asked; then assert it."""
    deadline = time.monotonic() + seconds
    while True:
        problems = [problem for obj in objs for problem in mismatches(ns, obj, objs)]
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not problems, "\n".join(problems)


def write_all(fmt, objs, directory):
    for obj in objs:
        persist.write(persist.changes(fmt, obj, str(directory)))
        assert persist.changes(fmt, obj, str(directory)) == []


def test_ifupdown_applies_in_a_namespace(netns, unique, tmp_path):
    objs = objects(unique)
    confdir, state = tmp_path / "interfaces.d", tmp_path / "state"
    state.mkdir()
    write_all("ifupdown", objs, confdir)
    # what /etc/network/interfaces does with `source /etc/network/interfaces.d/*`: the files in sorted order
    interfaces = tmp_path / "interfaces"
    interfaces.write_text("".join((confdir / name).read_text() + "\n" for name in sorted(os.listdir(confdir))))
    ifupdown = ["ip", "netns", "exec", netns, "%s", "-i", str(interfaces), "--state-dir", str(state), "-a"]
    sh(*[word.replace("%s", "ifup") for word in ifupdown], timeout=60)
    settle(netns, objs, seconds=5)
    sh(*[word.replace("%s", "ifdown") for word in ifupdown], timeout=60)
    left = {link["ifname"] for link in ns_json(netns, "ip", "-j", "link", "show")}
    assert left == {"lo", "vcp1", "vcp2", "vcq1", "vcq2"}, left


@contextlib.contextmanager
def networkd_in(ns, confdir, log):
    """systemd-networkd running inside namespace `ns` on the files of confdir only."""
    assert os.access(NETWORKD, os.X_OK), "%s is missing: install Debian's systemd package" % NETWORKD
    script = ("set -e; mount -t tmpfs none /run/systemd; mkdir /run/systemd/netif;"
              " chown systemd-network:systemd-network /run/systemd/netif;"
              " mount -t tmpfs none /usr/lib/systemd/network; mount --bind %s /etc/systemd/network;"
              " mount -o remount,ro /sys; exec %s" % (confdir, NETWORKD))
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", ns, "unshare", "-m", "--propagation", "private",
                                 "sh", "-c", script], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "SYSTEMD_LOG_TARGET": "console", "SYSTEMD_LOG_LEVEL": "info"})
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_networkd_applies_in_a_namespace(netns, unique, tmp_path):
    objs = objects(unique)
    confdir = tmp_path / "network"
    write_all("networkd", objs, confdir)
    log = tmp_path / "networkd.log"
    with networkd_in(netns, confdir, log) as proc:
        try:
            settle(netns, objs)
        finally:
            text = log.read_text()
        assert proc.poll() is None, "systemd-networkd exited:\n" + text
    # systemd logs every line of a config file it cannot use as FILE:LINE: ...
    complaints = [line for line in text.splitlines() if re.search(r"virtcloud-\S*\.(netdev|network):\d+", line)]
    assert not complaints, "\n".join(complaints)


# nm-settings-keyfile(5) / nm-settings-nmcli(5) of NetworkManager 1.42: the sections and keys virtcloud writes
NM_KEYS = {
    "connection": {"id", "uuid", "type", "interface-name", "autoconnect", "master", "slave-type"},
    "ethernet": {"mtu"},
    "bridge": {"stp", "forward-delay", "vlan-filtering"},
    "bridge-port": set(),
    "vlan": {"id", "parent"},
    "vxlan": {"id", "local", "remote", "parent", "destination-port", "learning"},
    "ipv4": {"method", "address1", "address2"},
    "ipv6": {"method", "address1", "address2"},
}

LIBNM_READ = r"""
import json, sys
import gi
gi.require_version("NM", "1.0")
from gi.repository import GLib, NM
out = {}
for path in sys.argv[1:]:
    keyfile = GLib.KeyFile()
    keyfile.load_from_file(path, GLib.KeyFileFlags.NONE)
    connection = NM.keyfile_read(keyfile, "/etc/NetworkManager/system-connections", NM.KeyfileHandlerFlags.NONE, None, None)
    connection.verify()
    out[path] = connection.to_dbus(NM.ConnectionSerializationFlags.ALL).unpack()
print(json.dumps(out, default=str))
"""


def libnm_read(paths):
    proc = sh(SYSTEM_PYTHON, "-c", LIBNM_READ, *paths, check=False)
    assert proc.returncode == 0, ("libnm could not read/verify the keyfiles (needs Debian's python3-gi and "
                                  "gir1.2-nm-1.0, see scripts/host.sh):\n" + proc.stderr[-3000:])
    return json.loads(proc.stdout)


def test_nm_keyfiles_read_by_libnm(unique, tmp_path):
    bridge, fanout, single = objects(unique)
    vxlan = {**fanout, "remotes": ["198.18.1.3"], "dev": "vcp1"}          # NetworkManager: one remote
    vlan = {"kind": "vlan", "name": "vcvl" + unique[-5:], "enabled": False, "mtu": 1300,
            "addresses": ["198.19.2.1/24"], "parent": bridge["name"], "vlan_id": 20}
    objs = [bridge, vxlan, single, vlan]
    write_all("nm_keyfile", objs, tmp_path)
    paths = sorted(str(tmp_path / name) for name in os.listdir(tmp_path))
    assert len(paths) == 6
    for path in paths:
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(path)
        for section in parser.sections():
            assert section in NM_KEYS and set(parser[section]) <= NM_KEYS[section], (path, section, dict(parser[section]))
    read = libnm_read(paths)

    def conn(name):
        return read[str(tmp_path / ("virtcloud-%s.nmconnection" % name))]

    for obj in objs:
        got = conn(obj["name"])
        assert got["connection"]["interface-name"] == obj["name"]
        assert got["connection"]["uuid"] == persist.connection_uuid(obj["kind"], obj["name"])
        assert got["connection"]["type"] == obj["kind"]
        assert got["connection"].get("autoconnect", True) == obj["enabled"]
        assert got["802-3-ethernet"]["mtu"] == obj["mtu"]
        if obj["addresses"]:
            assert ["%s/%d" % (a["address"], a["prefix"]) for a in got["ipv4"]["address-data"]] == obj["addresses"]
    assert conn(bridge["name"])["bridge"].get("stp", True) is True
    assert conn(bridge["name"])["bridge"]["forward-delay"] == 2
    for port in bridge["ports"]:
        got = conn("%s-port-%s" % (bridge["name"], port))["connection"]
        assert (got["interface-name"], got["master"], got["slave-type"]) == (port, bridge["name"], "bridge")
    got = conn(vxlan["name"])
    assert got["vxlan"] == {"id": 4242, "local": "198.18.1.2", "remote": "198.18.1.3", "parent": "vcp1",
                            "destination-port": 4789, "learning": False}
    assert (got["connection"]["master"], got["connection"]["slave-type"]) == (bridge["name"], "bridge")
    assert conn(single["name"])["vxlan"]["destination-port"] == 4790      # NetworkManager's default is 8472
    assert conn(vlan["name"])["vlan"]["id"] == 20 and conn(vlan["name"])["vlan"]["parent"] == bridge["name"]
