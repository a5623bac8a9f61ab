"""The LXD client's pure parts: connection options checked before anything is touched, paths."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.lxd import client


def params(**kw):
    base = {"url": None, "client_cert": None, "client_key": None, "server_cert": None, "validate_certs": True,
            "trust_password": None, "trust_token": None, "project": None, "timeout": 120}
    base.update(kw)
    return base


@pytest.mark.parametrize("kw, option", [
    ({"url": "http://lxd:8443"}, "url"),
    ({"url": "https://127.0.0.1:8443"}, "client_cert"),
    ({"client_cert": "/c.pem"}, "client_key"),
    ({"client_key": "/k.pem"}, "client_cert"),
    ({"trust_password": "a", "trust_token": "b"}, "trust_token"),
    ({"timeout": -1}, "timeout"),
    ({"url": "https://127.0.0.1:8443", "client_cert": "/nonexistent.pem", "client_key": "/nonexistent.key"},
     "client_cert"),
])
def test_bad_connection_options_name_the_option(kw, option):
    with pytest.raises(InputError) as err:
        client.check_connection(params(**kw))
    assert err.value.option == option


def test_good_connection_options():
    client.check_connection(params())
    client.check_connection(params(url="unix:/var/lib/lxd/unix.socket"))


def test_socket_path_forms():
    assert client._socket_path("unix:/run/lxd.sock") == "/run/lxd.sock"
    assert client._socket_path("unix:///run/lxd.sock") == "/run/lxd.sock"


def test_project_goes_into_every_query_but_operations():
    lxd = client.Lxd(params(project="tenant a"))
    assert lxd.path("/1.0/instances") == "/1.0/instances?project=tenant+a"
    assert lxd.path("/1.0/instances", {"recursion": 1}) == "/1.0/instances?recursion=1&project=tenant+a"
    assert lxd.path("/1.0/operations/x/wait", {"timeout": 5}, project=False) == "/1.0/operations/x/wait?timeout=5"


def test_names_are_quoted_both_ways():
    assert client.name_path("instances", "a b/c") == "/1.0/instances/a%20b%2Fc"
    assert client.base_name("/1.0/instances/a%20b?project=x") == "a b"
