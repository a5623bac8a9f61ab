"""docker_container's runtime options against the real dockerd, verified through the docker CLI:
check mode predicts and touches nothing -> apply -> rerun and check-mode rerun change nothing ->
docker inspect; a live option changes in place (same ID), any other recreates (new ID)."""

from __future__ import annotations

import pytest

from conftest import converge, run_module, sh  # noqa: E402
from dockertest import assert_check_mode_changes_nothing, assert_failed_cleanly, container, docker_inspect, httpd_image  # noqa: E402,F401 pylint: disable=unused-import

RUNTIME_KEYS = ("devices", "ulimits", "sysctls", "security_opts", "init", "tty", "interactive", "shm_size",
                "dns_servers", "dns_search_domains", "etc_hosts", "stop_signal", "ipc_mode", "pid_mode", "runtime",
                "platform", "exposed_ports", "publish_all_ports", "published_ports", "privileged",
                "memory_reservation", "memory_swap", "cpu_shares", "cpuset_cpus")


def applied_as_predicted(spec):
    """check mode changes nothing, converge; the facts check mode predicted are the ones read back."""
    assert_check_mode_changes_nothing("docker_container", "container", spec["name"], **spec)
    applied = converge("docker_container", **spec)
    predicted = applied["predicted"]["container"]
    assert {k: predicted.get(k) for k in RUNTIME_KEYS} == {k: applied["container"].get(k) for k in RUNTIME_KEYS}
    return applied


def test_recreate_options(httpd_image, container):
    spec = dict(name=container, image=httpd_image, stop_timeout=1,
                devices=["/dev/null:/dev/vct-null:rw", {"path_on_host": "/dev/zero"}],
                ulimits=["nofile:1024:2048", "nproc=512"], sysctls={"net.ipv4.ip_unprivileged_port_start": 0},
                security_opts=["no-new-privileges"], init=True, tty=True, interactive=True, shm_size="128m",
                dns_servers=["198.19.251.53", "198.19.251.54"], dns_search_domains=["vct.example"],
                etc_hosts={"db.vct.example": "198.19.251.7"}, stop_signal="int", ipc_mode="shareable", runtime="runc",
                platform="x86_64" if docker_inspect("image", httpd_image)["Architecture"] == "amd64" else "linux/arm64",
                exposed_ports=["9000/udp", "9100-9101"], publish_all_ports=True,
                published_ports=["80"], default_host_ip="127.0.0.1")
    applied = applied_as_predicted(spec)
    facts = applied["container"]
    assert facts["published_ports"] == ["127.0.0.1::80/tcp"] and facts["stop_signal"] == "SIGINT"
    assert facts["exposed_ports"] == ["9000/udp", "9100/tcp", "9101/tcp"]

    info = docker_inspect("container", container)
    host, config = info["HostConfig"], info["Config"]
    assert info["State"]["Running"] is True
    assert sorted((d["PathOnHost"], d["PathInContainer"], d["CgroupPermissions"]) for d in host["Devices"]) == [
        ("/dev/null", "/dev/vct-null", "rw"), ("/dev/zero", "/dev/zero", "rwm")]
    limits = sorted((u["Name"], u["Soft"], u["Hard"]) for u in host["Ulimits"])
    assert limits == [("nofile", 1024, 2048), ("nproc", 512, 512)]
    assert host["Sysctls"] == {"net.ipv4.ip_unprivileged_port_start": "0"}
    assert host["SecurityOpt"] == ["no-new-privileges"] and host["Init"] is True
    assert config["Tty"] is True and config["OpenStdin"] is True and config["StopSignal"] == "SIGINT"
    assert host["ShmSize"] == 128 << 20 and host["IpcMode"] == "shareable" and host["Runtime"] == "runc"
    assert host["Dns"] == ["198.19.251.53", "198.19.251.54"] and host["DnsSearch"] == ["vct.example"]
    assert host["ExtraHosts"] == ["db.vct.example:198.19.251.7"]
    assert host["PublishAllPorts"] is True
    assert host["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    assert set(config["ExposedPorts"]) == {"80/tcp", "9000/udp", "9100/tcp", "9101/tcp"}
    inside = sh("docker", "exec", container, "cat", "/etc/hosts", "/etc/resolv.conf").stdout
    assert "198.19.251.7\tdb.vct.example" in inside and "nameserver 198.19.251.54" in inside

    # one recreate option changed: a new container, under the same name
    changed = converge("docker_container", **{**spec, "ulimits": ["nofile:2048:4096"]})
    assert changed["actions"][0].startswith("create replacement ")
    after = docker_inspect("container", container)
    assert after["Id"] != info["Id"]
    assert [(u["Name"], u["Soft"], u["Hard"]) for u in after["HostConfig"]["Ulimits"]] == [("nofile", 2048, 4096)]

    # exposing a port the image exposes anyway, or a published one, is the same container
    same = {**spec, "ulimits": ["nofile:2048:4096"], "exposed_ports": spec["exposed_ports"] + ["80"]}
    assert run_module("docker_container", **same)["changed"] is False


def test_live_options_change_in_place(httpd_image, container):
    spec = dict(name=container, image=httpd_image, stop_timeout=1, memory="64m", memory_swap="-1",
                memory_reservation="32m", cpu_shares=512, cpuset_cpus="0")
    applied_as_predicted(spec)
    info = docker_inspect("container", container)
    assert {k: info["HostConfig"][k] for k in ("Memory", "MemorySwap", "MemoryReservation", "CpuShares",
                                               "CpusetCpus")} == {
        "Memory": 64 << 20, "MemorySwap": -1, "MemoryReservation": 32 << 20, "CpuShares": 512, "CpusetCpus": "0"}

    live = {**spec, "memory": "96m", "memory_swap": "320m", "memory_reservation": "48m", "cpu_shares": 256,
            "cpuset_cpus": "0-1"}
    changed = converge("docker_container", **live)
    assert changed["actions"] == ["update container %s (memory, memory_reservation, memory_swap, cpu_shares, "
                                  "cpuset_cpus)" % container]
    after = docker_inspect("container", container)
    assert after["Id"] == info["Id"] and after["State"]["Running"] is True
    assert {k: after["HostConfig"][k] for k in ("Memory", "MemorySwap", "MemoryReservation", "CpuShares",
                                                "CpusetCpus")} == {
        "Memory": 96 << 20, "MemorySwap": 320 << 20, "MemoryReservation": 48 << 20, "CpuShares": 256,
        "CpusetCpus": "0-1"}

    # a new memory limit keeps the swap limit the spec names
    converge("docker_container", **{**live, "memory": "128m"})
    after = docker_inspect("container", container)
    assert after["Id"] == info["Id"] and after["HostConfig"]["MemorySwap"] == 320 << 20

    # docker's update API cannot lift a limit (0 means "leave as is"): that recreates
    lifted = converge("docker_container", **{**live, "memory": "128m", "cpu_shares": 0})
    assert lifted["actions"][0].startswith("create replacement ")
    after = docker_inspect("container", container)
    assert after["Id"] != info["Id"] and after["HostConfig"]["CpuShares"] == 0

    # memory_swap 0 is docker's default, twice the memory limit, and reads back as 0 (a limit lifted: recreate)
    default_swap = dict(name=container, image=httpd_image, stop_timeout=1, memory="128m", memory_swap="0")
    applied = converge("docker_container", **default_swap)
    assert applied["container"]["memory_swap"] == 0
    assert docker_inspect("container", container)["HostConfig"]["MemorySwap"] == 256 << 20


def test_namespaces_of_another_container(httpd_image, container):
    target = dict(name=container + "-ns", image=httpd_image, stop_timeout=1, ipc_mode="shareable")
    try:
        converge("docker_container", **target)
        target_id = docker_inspect("container", target["name"])["Id"]
        spec = dict(name=container, image=httpd_image, stop_timeout=1, pid_mode="container:" + target["name"],
                    ipc_mode="container:" + target["name"])
        applied = applied_as_predicted(spec)
        info = docker_inspect("container", container)
        assert info["HostConfig"]["PidMode"] == info["HostConfig"]["IpcMode"] == "container:" + target_id
        assert applied["container"]["pid_mode"] == "container:" + target_id

        # the host's PID namespace: docker adds label=disable by itself, which is not a difference
        converge("docker_container", **{**spec, "pid_mode": "host", "ipc_mode": "private", "security_opts": []})
        assert docker_inspect("container", container)["HostConfig"]["PidMode"] == "host"

        # a container to join that does not exist: refused before anything changes, in check mode too
        missing = {**spec, "pid_mode": "container:%s-nope" % container}
        for check in (True, False):
            assert_failed_cleanly("docker_container", "pid_mode: container '%s-nope' does not exist" % container,
                                  check=check, **missing)
        assert docker_inspect("container", container)["HostConfig"]["PidMode"] == "host"
    finally:
        sh("docker", "rm", "-f", target["name"], check=False)


def test_privileged_is_created(httpd_image, container):
    """This host refuses to start privileged containers (runc cannot apply every capability in its
    sandbox), so the container is created (state=present) and checked without running."""
    spec = dict(name=container, image=httpd_image, privileged=True, state="present")
    applied_as_predicted(spec)
    info = docker_inspect("container", container)
    assert info["HostConfig"]["Privileged"] is True
    assert run_module("docker_container", **{**spec, "security_opts": []})["changed"] is False


@pytest.mark.parametrize("args, fragment", [
    ({"runtime": "vct-no-such-runtime"}, "runtime: 'vct-no-such-runtime' is not a runtime of this Docker host"),
    ({"devices": ["/dev/vct-no-such-device"]}, "devices: /dev/vct-no-such-device does not exist on the Docker host"),
    ({"platform": "linux/s390x"}, "platform: image "),
    ({"sysctls": {"net.ipv4.ip_forward": True}}, "sysctls: value of 'net.ipv4.ip_forward' is True"),
    ({"sysctls": {"vm.swappiness": "1"}}, "sysctls: 'vm.swappiness' is not a kernel parameter"),
    ({"ulimits": ["nofile:4096:1024"]}, "ulimits: 'nofile:4096:1024': the soft limit must not exceed the hard limit"),
    ({"memory_swap": "64m"}, "memory_swap: limits memory and swap together"),
    ({"stop_signal": "SIGBOGUS"}, "stop_signal: 'SIGBOGUS' is not a signal"),
    ({"ipc_mode": "container:../x"}, "ipc_mode: '../x' is not a valid container name"),
    ({"default_host_ip": "localhost", "published_ports": ["80"]}, "default_host_ip: 'localhost' is not an IP address"),
])
def test_bad_values_change_nothing(httpd_image, container, args, fragment):
    for check in (True, False):
        assert_failed_cleanly("docker_container", fragment, check=check, name=container, image=httpd_image, **args)
    assert docker_inspect("container", container) is None


def test_bad_value_leaves_an_existing_container(httpd_image, container):
    converge("docker_container", name=container, image=httpd_image, stop_timeout=1, init=True)
    before = docker_inspect("container", container)["Id"]
    assert_failed_cleanly("docker_container", "runtime:", name=container, image=httpd_image, init=False,
                          runtime="vct-no-such-runtime")
    assert docker_inspect("container", container)["Id"] == before


def test_batch_takes_the_runtime_options(httpd_image, container):
    names = [container, container + "-b"]
    items = [{"name": names[0], "image": httpd_image, "stop_timeout": 1, "init": True, "ulimits": ["nofile:1024"],
              "cpu_shares": 512, "etc_hosts": {"db": "198.19.251.7"}},
             {"name": names[1], "image": httpd_image, "stop_timeout": 1, "tty": True, "shm_size": "32m",
              "exposed_ports": ["9000/udp"], "memory": "64m", "memory_swap": "-1"}]
    try:
        assert_check_mode_changes_nothing("docker_containers", "container", names[0], containers=items)
        converge("docker_containers", containers=items)
        first, second = (docker_inspect("container", n) for n in names)
        assert first["HostConfig"]["Init"] is True and first["HostConfig"]["CpuShares"] == 512
        assert first["HostConfig"]["ExtraHosts"] == ["db:198.19.251.7"]
        assert second["Config"]["Tty"] is True and second["HostConfig"]["ShmSize"] == 32 << 20
        assert "9000/udp" in second["Config"]["ExposedPorts"] and second["HostConfig"]["MemorySwap"] == -1
        # the single module agrees with the batch
        assert run_module("docker_container", **items[1])["changed"] is False
        # a live change in a batch keeps the container
        converge("docker_containers", containers=[{**items[0], "cpu_shares": 256}, items[1]])
        assert docker_inspect("container", names[0])["Id"] == first["Id"]
        # a bad item fails naming its index and option, before anything changes
        bad = [{**items[0], "cpu_shares": 1}, items[1]]
        assert_failed_cleanly("docker_containers", "containers[0].cpu_shares:", containers=bad)
        # replaced resets what an item omits: the init process and ulimits go, by a new container
        replaced = converge("docker_containers", containers=[{"name": names[0], "image": httpd_image,
                                                              "stop_timeout": 1}, items[1]], state="replaced")
        assert replaced["actions"][0].startswith("create replacement %s" % names[0])
        info = docker_inspect("container", names[0])
        assert not info["HostConfig"]["Init"] and info["HostConfig"]["Ulimits"] in ([], None)
        assert info["HostConfig"]["CpuShares"] == 0
    finally:
        sh("docker", "rm", "-f", *names, check=False)
