"""Pure logic of the wider container spec, volumes, networks and image references."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import container as c
from ansible_collections.virtcloud.core.plugins.module_utils.docker.image import registry_of
from ansible_collections.virtcloud.core.plugins.module_utils.docker.network import NetworkService


@pytest.mark.parametrize("value, expected", [(30, 30 * 10 ** 9), ("1m30s", 90 * 10 ** 9), ("500ms", 5 * 10 ** 8),
                                             ("1.5s", 15 * 10 ** 8)])
def test_durations(value, expected):
    assert c.parse_duration("healthcheck.interval", value) == expected


@pytest.mark.parametrize("value", ["soon", "10x", "s", "-1s"])
def test_bad_durations_name_the_option(value):
    with pytest.raises(InputError, match="^healthcheck.interval:"):
        c.parse_duration("healthcheck.interval", value)


def test_memory_is_read_in_bytes_and_named_when_bad():
    params = {k: opt.default for k, opt in c.ContainerService.options.items()}
    assert c.ContainerService(dict(params, name="vct", memory="512m")).desired()["memory"] == 512 << 20
    with pytest.raises(InputError, match="^memory:"):
        c.ContainerService(dict(params, name="vct", memory="lots")).desired()


def test_capabilities_and_healthcheck_tests():
    assert c.capability(" net_admin") == "CAP_NET_ADMIN" == c.capability("CAP_NET_ADMIN")
    assert c.capability("all") == "ALL"
    assert c.healthcheck_test("curl -f x") == ["CMD-SHELL", "curl -f x"]
    assert c.healthcheck_test(["curl", "-f"]) == ["CMD", "curl", "-f"]
    assert c.healthcheck_test(["NONE"]) == ["NONE"]


def test_mounts(tmp_path):
    assert c.normalise_mount({"type": "tmpfs", "target": "/t", "tmpfs_size": "1m"}) == \
        {"type": "tmpfs", "source": None, "target": "/t", "read_only": False, "tmpfs_size": 1 << 20}
    observed = c.mounts_from_host_config([{"Type": "tmpfs", "Target": "/t", "TmpfsOptions": {"SizeBytes": 1 << 20}}])
    assert observed == [c.normalise_mount({"type": "tmpfs", "target": "/t", "tmpfs_size": "1m"})]
    assert c.normalise_mount({"type": "bind", "source": str(tmp_path), "target": "/d"})["source"] == str(tmp_path)
    for bad in ({"type": "volume", "target": "/v"}, {"type": "tmpfs", "source": "x", "target": "/t"},
                {"type": "volume", "source": "v", "target": "rel"}):
        with pytest.raises(InputError, match="^mounts"):
            c.normalise_mount(bad)


def test_network_aliases_docker_adds_are_ignored():
    settings = {"net": {"Aliases": ["web", "abcdef123456", "host1"], "IPAMConfig": {"IPv4Address": "198.18.250.9"}},
                "bridge": {"Aliases": None, "IPAMConfig": None}}
    entries = c.networks_from_settings(settings, ("abcdef123456", "host1"), [{"name": "net", "aliases": ["web"]}])
    assert sorted(entries, key=repr) == sorted([
        {"name": "net", "aliases": ["web"], "ipv4_address": "198.18.250.9", "ipv6_address": None},
        {"name": "bridge", "aliases": [], "ipv4_address": None, "ipv6_address": None}], key=repr)
    # an alias the user asks for is kept even when docker would add it anyway
    asked = c.networks_from_settings(settings, ("abcdef123456", "host1"), [{"name": "net", "aliases": ["host1", "web"]}])
    assert ["host1", "web"] in [e["aliases"] for e in asked]


def test_env_file(tmp_path, monkeypatch):
    monkeypatch.setenv("VCT_FROM_HOST", "h")
    path = tmp_path / "env"
    path.write_text("# c\n\nA=1\nB = x=y\nVCT_FROM_HOST\nVCT_UNSET\n")
    assert c.parse_env_file(str(path)) == {"A": "1", "B": " x=y", "VCT_FROM_HOST": "h"}
    with pytest.raises(InputError, match="^env_file:"):
        c.parse_env_file(str(tmp_path / "missing"))


def test_spec_digest_ignores_live_options_and_order():
    base = {k: None for k in c.ContainerService.options}
    one = dict(base, published_ports=["b", "a"], restart_policy="always")
    two = dict(base, published_ports=["a", "b"], memory=5)
    assert c.spec_digest(c.ContainerService.options, one) == c.spec_digest(c.ContainerService.options, two)
    assert c.spec_digest(c.ContainerService.options, dict(one, user="x")) != c.spec_digest(c.ContainerService.options, one)


@pytest.mark.parametrize("name, registry", [("httpd:2.4", "https://index.docker.io/v1/"),
                                            ("library/httpd", "https://index.docker.io/v1/"),
                                            ("registry.example.com/a/b:1", "registry.example.com"),
                                            ("localhost/x", "localhost"), ("127.0.0.1:5000/x", "127.0.0.1:5000")])
def test_registry_of(name, registry):
    assert registry_of(name) == registry


@pytest.mark.parametrize("args, option", [
    ({"subnet": "198.18.240.1/24"}, "subnet"),
    ({"subnet": "198.18.240.0/24", "gateway": "198.18.241.1"}, "gateway"),
    ({"subnet": "198.18.240.0/24", "ip_range": "198.18.0.0/16"}, "ip_range"),
    ({"parent": "eth0"}, "parent"),
    ({"labels": {"a": True}}, "labels"),
])
def test_network_input(args, option):
    params = {k: None for k in NetworkService.options}
    params.update(name="vct", driver="bridge", internal=False, state="present", **args)
    with pytest.raises(InputError) as info:
        NetworkService(params).desired()
    assert info.value.option == option


@pytest.mark.parametrize("value, kind", [(1.0, "float"), (1.10, "float"), (True, "bool"), (None, "null")])
def test_string_maps_refuse_values_yaml_would_change(value, kind):
    with pytest.raises(InputError, match=r"^labels: value of 'foo' is the YAML %s .*quote it" % kind):
        c.strings({"foo": value}, "labels")


def test_string_maps_keep_integers_as_decimal_text():
    assert c.strings({"port": 8080, "name": "x"}, "env") == {"port": "8080", "name": "x"}
    with pytest.raises(InputError, match="^env: value of 'x' must be a string"):
        c.strings({"x": [1]}, "env")
