"""docker_container's runtime options (container_runtime.py): parsers, read-back, create/update arguments."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import container_runtime as rt
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import DEFAULTS, LIMITS, ContainerService


def desired(**params):
    base = {k: opt.default for k, opt in ContainerService.options.items()}
    return ContainerService(dict(base, name="vct", **params)).desired()


@pytest.mark.parametrize("value, expected", [
    ("/dev/fuse", "/dev/fuse:/dev/fuse:rwm"),
    ("/dev/sda:/dev/xvda", "/dev/sda:/dev/xvda:rwm"),
    ("/dev/snd:r", "/dev/snd:/dev/snd:r"),
    ("/dev/sda:/dev/xvda:rw", "/dev/sda:/dev/xvda:rw"),
    ({"path_on_host": "/dev/sda", "cgroup_permissions": "r"}, "/dev/sda:/dev/sda:r"),
    ({"path_on_host": "/dev/sda", "path_in_container": "/dev/b"}, "/dev/sda:/dev/b:rwm"),
])
def test_devices(value, expected):
    assert rt.devices([value], "devices") == [expected]


@pytest.mark.parametrize("value", ["dev/sda", "/dev/sda:/x:rwx", "/dev/sda:/x:rr", "/a:/b:r:x", "",
                                   {"path_in_container": "/x"}, {"path_on_host": "/dev/a", "perms": "r"}, 5])
def test_bad_devices_name_the_option(value):
    with pytest.raises(InputError, match="^devices:"):
        rt.devices([value], "devices")


def test_ulimits():
    assert rt.ulimits(["nofile:1024:2048", "nproc=64", "core:-1:-1", "stack:8:-1"], "ulimits") == [
        "core:-1:-1", "nofile:1024:2048", "nproc:64:64", "stack:8:-1"]


@pytest.mark.parametrize("value", ["nofile", "nofile:x", "nofile:2048:1024", "bogus:1:1", "nofile:1:2:3",
                                   "nofile:-2", "nofile:-1:5"])
def test_bad_ulimits(value):
    with pytest.raises(InputError, match="^ulimits:"):
        rt.ulimits([value], "ulimits")


def test_ulimit_given_twice():
    with pytest.raises(InputError, match="nofile is given twice"):
        rt.ulimits(["nofile:1", "nofile:2"], "ulimits")


def test_sysctls_are_strings_of_namespaced_parameters():
    assert rt.sysctls({"net.ipv4.ip_forward": 1, "kernel.shmmax": "4096", "fs.mqueue.msg_max": "20"}, "sysctls") == {
        "net.ipv4.ip_forward": "1", "kernel.shmmax": "4096", "fs.mqueue.msg_max": "20"}
    for bad in ({"net.ipv4.ip_forward": True}, {"net.ipv4.ip_forward": 0.5}, {"net.ipv4.ip_forward": None},
                {"vm.swappiness": "1"}, {"kernel.hostname": "x"}):
        with pytest.raises(InputError, match="^sysctls:"):
            rt.sysctls(bad, "sysctls")


def test_security_opts():
    assert rt.security_opts(["seccomp=unconfined", " no-new-privileges", "label:disable", "no-new-privileges:true"],
                            "security_opts") == ["label:disable", "no-new-privileges", "no-new-privileges:true",
                                                 "seccomp=unconfined"]
    for bad in ("bogus=1", "seccomp", "label"):
        with pytest.raises(InputError, match="^security_opts:"):
            rt.security_opts([bad], "security_opts")


@pytest.mark.parametrize("value, expected", [("TERM", "SIGTERM"), ("sigint", "SIGINT"), ("SIGRTMIN+3", "SIGRTMIN+3"),
                                             (15, "15"), ("9", "9")])
def test_stop_signals(value, expected):
    assert rt.stop_signal(value, "stop_signal") == expected


@pytest.mark.parametrize("value", ["SIGBOGUS", "0", "65", "RTMIN+16", ""])
def test_bad_stop_signals(value):
    with pytest.raises(InputError, match="^stop_signal:"):
        rt.stop_signal(value, "stop_signal")


def test_namespace_modes():
    assert rt.pid_mode("host", "pid_mode") == "host"
    assert rt.ipc_mode("container:db-1", "ipc_mode") == "container:db-1"
    assert rt.ipc_mode("shareable", "ipc_mode") == "shareable"
    for option, bad in (("pid_mode", "shareable"), ("pid_mode", "container:"), ("ipc_mode", "container:../x"),
                        ("ipc_mode", "bogus")):
        with pytest.raises(InputError, match="^%s:" % option):
            getattr(rt, option)(bad, option)


@pytest.mark.parametrize("value, expected", [("linux/amd64", "linux/amd64"), ("amd64", "linux/amd64"),
                                             ("x86_64", "linux/amd64"), ("Linux/AArch64", "linux/arm64"),
                                             ("linux/arm64/v8", "linux/arm64"), ("armhf", "linux/arm/v7"),
                                             ("linux/arm/v6", "linux/arm/v6"), ("linux", "linux")])
def test_platforms(value, expected):
    assert rt.platform(value, "platform") == expected


@pytest.mark.parametrize("value", ["linux/amd64/v1/x", "linux amd64", "", "linux//v7"])
def test_bad_platforms(value):
    with pytest.raises(InputError, match="^platform:"):
        rt.platform(value, "platform")


def test_platform_matching():
    assert rt._matches("linux/arm", "linux/arm/v7") and rt._matches("linux", "linux/amd64")
    assert not rt._matches("linux/arm64", "linux/amd64") and not rt._matches("linux/amd64", None)


def test_exposed_ports():
    assert rt.exposed_ports(["9000/udp", 80, "8000-8001", "80/tcp"], "exposed_ports") == [
        "80/tcp", "8000/tcp", "8001/tcp", "9000/udp"]
    for bad in ("80/icmp", "0", "9002-9000", "http"):
        with pytest.raises(InputError, match="^exposed_ports:"):
            rt.exposed_ports([bad], "exposed_ports")


def test_sizes_numbers_and_addresses():
    assert rt.positive_size("128m", "shm_size") == 128 << 20
    assert rt.memory_swap("-1", "memory_swap") == -1 and rt.memory_swap("1g", "memory_swap") == 1 << 30
    assert rt.cpuset(" 0-2, 4", "cpuset_cpus") == "0-2,4"
    assert rt.dns_servers(["2001:DB8::1"], "dns_servers") == ["2001:db8::1"]
    assert rt.etc_hosts({"db": " 198.18.0.7", "gw": "host-gateway"}, "etc_hosts") == {"db": "198.18.0.7",
                                                                                      "gw": "host-gateway"}
    for call, option, bad in ((rt.positive_size, "shm_size", 0), (rt.positive_size, "shm_size", "big"),
                              (rt.memory_swap, "memory_swap", "-2"), (rt.cpu_shares, "cpu_shares", 1),
                              (rt.cpu_shares, "cpu_shares", 300000), (rt.cpuset, "cpuset_cpus", "0-"),
                              (rt.dns_servers, "dns_servers", ["dns.lab"]),
                              (rt.dns_search_domains, "dns_search_domains", ["-bad.lab"]),
                              (rt.etc_hosts, "etc_hosts", {"db": "nope"}), (rt.etc_hosts, "etc_hosts", {"a b": "::1"}),
                              (rt.runtime_name, "runtime", "../runc"), (rt.host_ip, "default_host_ip", "localhost")):
        with pytest.raises(InputError, match="^%s:" % option):
            call(bad, option)


def test_desired_checks_across_options():
    assert desired(memory="64m", memory_swap="128m")["memory_swap"] == 128 << 20
    assert desired(memory_swap="-1")["memory_swap"] == -1
    with pytest.raises(InputError, match="^memory_swap:"):
        desired(memory_swap="128m")
    with pytest.raises(InputError, match="^memory_swap:"):
        desired(memory="128m", memory_swap="64m")
    with pytest.raises(InputError, match="^memory_reservation:"):
        desired(memory="64m", memory_reservation="128m")
    with pytest.raises(InputError, match="^sysctls:"):
        desired(sysctls={"net.ipv4.ip_forward": True})


def test_default_host_ip_binds_published_ports_without_an_address():
    ports = desired(published_ports=["8080:80", "[::1]:8443:443", "53:53/udp"], default_host_ip="127.0.0.1")
    assert sorted(ports["published_ports"]) == ["127.0.0.1:53:53/udp", "127.0.0.1:8080:80/tcp", "::1:8443:443/tcp"]
    v6 = desired(published_ports=["8080:80"], default_host_ip="::1")["published_ports"]
    assert v6 == ["::1:8080:80/tcp"]
    for everywhere in ("", "0.0.0.0", "::"):
        assert desired(published_ports=["8080:80"], default_host_ip=everywhere)["published_ports"] == [":8080:80/tcp"]


def inspected(host=None, config=None):
    return {"HostConfig": dict({"Memory": 0, "MemorySwap": 0, "ShmSize": 64 << 20, "IpcMode": "private",
                                "Runtime": "runc", "Dns": [], "DnsSearch": [], "Devices": [], "Ulimits": []},
                               **(host or {})),
            "Config": dict({"ExposedPorts": {"80/tcp": {}}}, **(config or {}))}


IMAGE = {"Os": "linux", "Architecture": "amd64", "Config": {"ExposedPorts": {"80/tcp": {}}}}


def test_a_new_container_reads_back_as_the_defaults():
    """What check mode predicts for a new container (DEFAULTS) is what it reads back as."""
    observed = rt.observe(inspected(), IMAGE, {})
    assert {k: observed[k] for k in rt.DEFAULTS} == rt.DEFAULTS
    assert observed["stop_signal"] == "SIGTERM" and observed["platform"] == "linux/amd64"
    assert all(DEFAULTS[k] == v for k, v in rt.DEFAULTS.items())
    assert set(rt.LIVE) <= set(LIMITS) and set(rt.LIVE) == {"memory_reservation", "memory_swap", "cpu_shares",
                                                            "cpuset_cpus"}


def test_read_back_in_the_options_form():
    info = inspected({"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/x", "CgroupPermissions": "rw"}],
                      "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}], "SecurityOpt": ["label=disable"],
                      "ExtraHosts": ["db:198.18.0.7", "v6:::1"], "PidMode": "host", "Memory": 64 << 20,
                      "MemorySwap": 128 << 20, "PortBindings": {"8080/tcp": [{}]}, "Init": None},
                     {"ExposedPorts": {"80/tcp": {}, "8080/tcp": {}, "9000/udp": {}}, "StopSignal": "INT"})
    observed = rt.observe(info, IMAGE, {})
    assert observed["devices"] == ["/dev/null:/dev/x:rw"] and observed["ulimits"] == ["nofile:1024:2048"]
    assert observed["security_opts"] == [] and observed["init"] is False
    assert observed["etc_hosts"] == {"db": "198.18.0.7", "v6": "::1"} and observed["pid_mode"] == "host"
    assert observed["memory_swap"] == 0 and observed["stop_signal"] == "SIGINT"
    assert observed["exposed_ports"] == ["9000/udp"]  # the image's and the published ones are implied
    # named by the user, they count
    named = rt.observe(info, IMAGE, {"security_opts": ["label=disable"], "memory_swap": 128 << 20,
                                     "exposed_ports": ["80/tcp", "9000/udp"], "platform": "linux"})
    assert named["security_opts"] == ["label=disable"] and named["memory_swap"] == 128 << 20
    assert named["exposed_ports"] == ["80/tcp", "9000/udp"] and named["platform"] == "linux"


def test_create_arguments():
    want = desired(ulimits=["nofile:1024:2048"], pid_mode="private", ipc_mode="host", tty=True, exposed_ports=["9000/udp"],
                   memory="64m", memory_swap="-1", stop_signal="INT", etc_hosts={"db": "198.18.0.7"})
    host = rt.host_config_kwargs(want, {"memswap_limit": 128 << 20, "mem_limit": 64 << 20})
    assert host["ulimits"] == [{"name": "nofile", "soft": 1024, "hard": 2048}] and "pid_mode" not in host
    assert host["ipc_mode"] == "host" and host["memswap_limit"] == -1 and host["extra_hosts"] == {"db": "198.18.0.7"}
    assert "privileged" not in host  # not set: docker's default
    config = rt.config_kwargs(want, {"image": "img", "ports": [(80, "tcp")]})
    assert config["ports"] == [(80, "tcp"), (9000, "udp")] and config["tty"] is True
    assert config["stop_signal"] == "SIGINT" and config["image"] == "img"
    assert rt.config_kwargs(desired(), {"ports": None})["ports"] is None


def test_update_body():
    want = desired(memory="64m", memory_swap="-1", cpu_shares=512, cpuset_cpus="0", memory_reservation="32m")
    assert rt.update_body(want, ["cpu_shares", "cpuset_cpus", "memory_reservation"]) == {
        "CpuShares": 512, "CpusetCpus": "0", "MemoryReservation": 32 << 20}
    # a new memory limit keeps the swap limit the user set
    assert rt.update_body(want, ["memory", "restart_policy"]) == {"MemorySwap": -1}
    assert rt.update_body(desired(memory="64m"), ["memory"]) == {}


def test_an_unknown_stored_signal_reads_back_as_stored():
    assert rt.observe(inspected(config={"StopSignal": "SIGFOO"}), IMAGE, {})["stop_signal"] == "SIGFOO"


@pytest.mark.parametrize("args, option", [
    ({"network_mode": "container:db-1", "dns_servers": ["198.18.0.53"]}, "dns_servers"),
    ({"network_mode": "container:db-1", "etc_hosts": {"db": "198.18.0.7"}}, "etc_hosts"),
    ({"network_mode": "container:db-1", "exposed_ports": ["9000"]}, "exposed_ports"),
    ({"network_mode": "container:db-1", "publish_all_ports": True}, "publish_all_ports"),
    ({"network_mode": "host", "sysctls": {"net.ipv4.ip_forward": "1"}}, "sysctls"),
])
def test_what_a_network_mode_rules_out(args, option):
    with pytest.raises(InputError, match="^%s:" % option):
        desired(**args)
    assert desired(**dict(args, network_mode=None))  # fine on a network of its own
