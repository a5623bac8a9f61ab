"""The proxy_gateway role's scenario (extensions/molecule/proxy_gateway, run here without molecule, in the
order its molecule.yml gives): prepare (a busybox httpd container on the bridged segment, whose gateway is
the proxy) -> converge -> idempotence (changed=0) -> verify (its own verify.yml), then independent checks
from a client: a network namespace plugged into the host-only network's bridge.

What is proven, through lxc-info, nsenter, ip -j and curl in the client's namespace:
- through the proxy (its host-only address and port) the client gets the web server's page;
- directly (the web server's address) it gets nothing within a bounded timeout (2 s; the control below
  shows the web server answers well within it), both with its default
  route via the host (the host-only network is isolated and the host has no address on the bridged
  segment) and with a route via the proxy itself (the proxy does not forward: ip_forward 0);
- the control: with ip_forward switched on in the proxy for a moment, that same direct request is
  answered - so it is the proxy's not forwarding, and nothing else in the test bed, that closes it.
Cleanup (the scenario's cleanup.yml; then lxc-destroy, ip, virsh, iptables for anything left) also on failure."""

from __future__ import annotations

import json
import os

import pytest

from conftest import ROOT, playbook, sh  # noqa: E402
from lib.appdeploy import recap

SCENARIO = os.path.join(ROOT, "extensions", "molecule", "proxy_gateway")
CLIENT = "198.18.147.50/24"
CONTENT = "<html><body><h1>behind the proxy %s</h1></body></html>"


@pytest.fixture
def bed(libvirt_daemon, unique, tmp_path):
    os.chmod(tmp_path, 0o755)
    short = unique[3:]
    names = {"proxy_gateway_name": unique + "-proxy", "proxy_gateway_hostonly_network": unique + "-pxhost",
             "proxy_gateway_hostonly_bridge": "vc%sh" % short, "proxy_gateway_bridge": "vc%sb" % short,
             "scenario_web_name": unique + "-web", "scenario_web_root": str(tmp_path / "www"),
             "scenario_web_content": CONTENT % unique}
    ns, veth = unique + "-client", "vc%sc" % short
    yield dict(names, netns=ns, veth=veth)
    # what the scenario's cleanup step did not remove (the test failed before it)
    for container in (names["scenario_web_name"], names["proxy_gateway_name"]):
        sh("lxc-destroy", "-f", "-n", container, check=False)
    sh("ip", "netns", "del", ns, check=False)
    for link in (veth, names["proxy_gateway_bridge"]):
        sh("ip", "link", "del", link, check=False)
    rule = ["FORWARD", "-i", names["proxy_gateway_bridge"], "-o", names["proxy_gateway_bridge"], "-j", "ACCEPT",
            "-m", "comment", "--comment", "virtcloud proxy_gateway " + names["proxy_gateway_name"]]
    for _attempt in range(3):
        if sh("iptables", "-w", "-D", *rule, check=False).returncode:
            break
    sh("virsh", "-c", "qemu:///system", "net-destroy", names["proxy_gateway_hostonly_network"], check=False)
    sh("virsh", "-c", "qemu:///system", "net-undefine", names["proxy_gateway_hostonly_network"], check=False)


def scenario(step, bed):
    return playbook(os.path.join(SCENARIO, step + ".yml"),
                    **{k: v for k, v in bed.items() if k.startswith(("proxy_gateway_", "scenario_"))})


def client_get(bed, url, seconds=2):
    """(curl's exit code, body) of GET url from the client's namespace, within `seconds`."""
    proc = sh("ip", "netns", "exec", bed["netns"], "curl", "-sS", "--noproxy", "*", "-m", seconds, url, check=False)
    return proc.returncode, proc.stdout


def proxy_forwarding(bed, value):
    pid = sh("lxc-info", "-n", bed["proxy_gateway_name"], "-p", "-H").stdout.strip()
    sh("nsenter", "-t", pid, "-n", "sysctl", "-q", "-w", "net.ipv4.ip_forward=%d" % value)


def test_proxy_gateway_scenario(bed):
    content, proxy, web = bed["scenario_web_content"], bed["proxy_gateway_name"], bed["scenario_web_name"]
    scenario("prepare", bed)
    first = scenario("converge", bed)
    assert recap(first.stdout)["changed"] > 0
    assert recap(scenario("converge", bed).stdout)["changed"] == 0
    scenario("verify", bed)

    # the proxy: running, on both sides, not forwarding; the host has no address on the bridged segment
    assert sh("lxc-info", "-n", proxy, "-s", "-H").stdout.strip() == "RUNNING"
    assert sh("lxc-attach", "-n", proxy, "--", "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "0"
    addresses = sh("lxc-info", "-n", proxy, "-i", "-H").stdout.split()
    assert sorted(addresses) == ["198.18.147.2", "198.18.148.2"], addresses
    bridge = json.loads(sh("ip", "-j", "addr", "show", "dev", bed["proxy_gateway_bridge"]).stdout)[0]
    assert [a for a in bridge["addr_info"] if a["family"] == "inet"] == [], bridge
    ports = [link["ifname"] for link in json.loads(sh("ip", "-j", "link", "show", "master", bed["proxy_gateway_bridge"]).stdout)]
    assert len(ports) == 2, ports   # the proxy's eth1 and the web server
    net = sh("virsh", "-c", "qemu:///system", "net-dumpxml", bed["proxy_gateway_hostonly_network"]).stdout
    assert "<forward" not in net and bed["proxy_gateway_hostonly_bridge"] in net, net  # isolated

    # a client on the host-only side: its default route is the host
    sh("ip", "netns", "add", bed["netns"])
    sh("ip", "link", "add", bed["veth"], "type", "veth", "peer", "name", "eth0", "netns", bed["netns"])
    sh("ip", "link", "set", bed["veth"], "master", bed["proxy_gateway_hostonly_bridge"], "up")
    for argv in (["ip", "link", "set", "lo", "up"], ["ip", "link", "set", "eth0", "up"],
                 ["ip", "addr", "add", CLIENT, "dev", "eth0"], ["ip", "route", "add", "default", "via", "198.18.147.1"]):
        sh("ip", "netns", "exec", bed["netns"], *argv)

    through = "http://198.18.147.2:%d/" % 8080
    direct = "http://198.18.148.10/"
    assert client_get(bed, through, seconds=5) == (0, content + "\n")
    rc, body = client_get(bed, direct)
    assert rc != 0 and content not in body, (rc, body)          # via the host: isolated, no route

    sh("ip", "netns", "exec", bed["netns"], "ip", "route", "add", "198.18.148.0/24", "via", "198.18.147.2")
    rc, body = client_get(bed, direct)
    assert rc != 0 and content not in body, (rc, body)          # via the proxy: it does not forward

    # control: the same request with the proxy forwarding is answered (the web server routes back via it)
    proxy_forwarding(bed, 1)
    try:
        assert client_get(bed, direct, seconds=5) == (0, content + "\n")
    finally:
        proxy_forwarding(bed, 0)
    assert sh("lxc-attach", "-n", proxy, "--", "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip() == "0"
    assert client_get(bed, through) == (0, content + "\n")

    # the scenario's cleanup leaves nothing of it
    sh("ip", "netns", "del", bed["netns"])
    scenario("cleanup", bed)
    listed = sh("lxc-ls", "-1").stdout.split()
    assert proxy not in listed and web not in listed, listed
    assert sh("ip", "link", "show", bed["proxy_gateway_bridge"], check=False).returncode != 0
    assert sh("virsh", "-c", "qemu:///system", "net-info", bed["proxy_gateway_hostonly_network"], check=False).returncode != 0
    assert "virtcloud proxy_gateway " + proxy not in sh("iptables", "-w", "-S", "FORWARD").stdout
