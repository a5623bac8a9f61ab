"""Pure logic of the Docker backend: port specs, image references, source digests (saved archives: test_docker_image_archives.py)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import ports
from ansible_collections.virtcloud.core.plugins.module_utils.docker.image import (
    digest_tree,
    split_name,
)


@pytest.mark.parametrize("spec, canonical", [
    ("80", ["::80/tcp"]),
    ("8088:80", [":8088:80/tcp"]),
    ("127.0.0.1:8088:80", ["127.0.0.1:8088:80/tcp"]),
    ("0.0.0.0:8088:80", [":8088:80/tcp"]),
    ("127.0.0.1::80", ["127.0.0.1::80/tcp"]),
    ("53:53/udp", [":53:53/udp"]),
    ("[::1]:8443:443", ["::1:8443:443/tcp"]),
    ("8000-8001:80-81", [":8000:80/tcp", ":8001:81/tcp"]),
    ("9000-9010:80", [":9000-9010:80/tcp"]),
])
def test_port_specs_parse_to_canonical_form(spec, canonical):
    assert ports.parse(spec) == canonical


@pytest.mark.parametrize("spec", ["abc", "1:2:3:4", "70000", "0", "80/xyz", "1.2.3.999:1:2",
                                  "10-5", "1-3:4-5", "[::1]:80", "::1:80:80", ""])
def test_malformed_port_specs_name_the_option(spec):
    with pytest.raises(InputError) as info:
        ports.parse(spec)
    assert info.value.msg.startswith("published_ports:")


def test_ports_round_trip_through_the_api_form():
    bindings = ports.parse_all(["127.0.0.1:8088:80", "53:53/udp", "[::1]:1:2", "8088:80"])
    exposed, api = ports.to_api(bindings)
    assert ports.from_host_config(api) == bindings
    assert (80, "tcp") in exposed and (53, "udp") in exposed


def test_port_display_uses_docker_run_syntax():
    shown = [ports.display(b) for b in ports.parse_all(["80", "8088:80", "127.0.0.1::81", "[::1]:1:2"])]
    assert sorted(shown) == sorted(["80/tcp", "8088:80/tcp", "127.0.0.1::81/tcp", "[::1]:1:2/tcp"])


@pytest.mark.parametrize("name, expected", [
    ("httpd", ("httpd", "latest")),
    ("httpd:2.4", ("httpd", "2.4")),
    ("registry:5000/team/app", ("registry:5000/team/app", "latest")),
    ("registry:5000/team/app:v1", ("registry:5000/team/app", "v1")),
])
def test_image_references_split_like_the_docker_cli(name, expected):
    assert split_name(name) == expected


@pytest.mark.parametrize("bad", ["", " httpd", "a b"])
def test_bad_image_reference_names_the_option(bad):
    with pytest.raises(InputError, match="^name:"):
        split_name(bad)


def test_context_digest_follows_content_mode_and_settings(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "a").write_text("one")
    first = digest_tree(str(tmp_path), {"args": {}})
    assert digest_tree(str(tmp_path), {"args": {}}) == first
    assert digest_tree(str(tmp_path), {"args": {"X": "1"}}) != first
    (tmp_path / "a").write_text("two")
    second = digest_tree(str(tmp_path), {"args": {}})
    assert second != first
    os.chmod(tmp_path / "a", 0o755)
    assert digest_tree(str(tmp_path), {"args": {}}) != second


def test_taken_host_ports_overlap_by_address_and_protocol():
    entries = [{"Id": "a" * 64, "Names": ["/web"], "Ports": [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8088, "Type": "tcp"},
        {"IP": "127.0.0.1", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"},
        {"PrivatePort": 443, "Type": "tcp"}]}]
    bindings = ports.parse_all(["127.0.0.1:8088:80", "198.18.0.1:5353:53/udp", "5353:53/tcp", ":443", "8080-8090:80"])
    assert ports.taken(bindings, entries) == [("127.0.0.1:8088:80/tcp", "web")]
    assert ports.taken(ports.parse_all(["5353:53/udp"]), entries) == [(":5353:53/udp", "web")]
