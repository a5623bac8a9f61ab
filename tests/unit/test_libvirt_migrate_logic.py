"""libvirt_migrate's checks that need no host: the default migration URI and the input checks made
before anything is touched (the migrations themselves: tests/integration/test_libvirt_migrate.py)."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.migrate import MigrateService, migrate_uri_for


@pytest.mark.parametrize("dest_uri, expected", [
    ("qemu+ssh://root@198.18.1.11/system", "tcp://198.18.1.11"),
    ("qemu+ssh://root@198.18.1.11:2222/system?keyfile=/k", "tcp://198.18.1.11"),  # the SSH port is not QEMU's
    ("qemu+tls://host2.example/system", "tcp://host2.example"),
    ("qemu+ssh://root@[fd00::11]/system", "tcp://[fd00::11]"),
    ("qemu:///system", None),  # no host: libvirt's own default
])
def test_the_stream_goes_to_the_host_of_dest_uri(dest_uri, expected):
    assert migrate_uri_for(dest_uri) == expected


def desired(**params):
    base = {"uri": "qemu:///system", "name": "web1", "dest_uri": "qemu+ssh://root@198.18.1.11/system",
            "migrate_uri": None, "copy_storage": "none", "live": True, "persistent": True,
            "undefine_source": True, "unsafe": False, "bandwidth": None, "timeout": None}
    return MigrateService(dict(base, **params)).desired()


def test_an_explicit_migrate_uri_is_kept():
    assert desired()["migrate_uri"] == "tcp://198.18.1.11"
    assert desired(migrate_uri="tcp://198.18.2.11:49200")["migrate_uri"] == "tcp://198.18.2.11:49200"


@pytest.mark.parametrize("params, option", [
    ({"dest_uri": "qemu:///system"}, "dest_uri"),  # the source itself
    ({"dest_uri": " "}, "dest_uri"),
    ({"timeout": 0}, "timeout"),
    ({"bandwidth": -1}, "bandwidth"),
    ({"name": "a/b"}, "name"),
])
def test_bad_input_names_the_option(params, option):
    with pytest.raises(InputError) as caught:
        desired(**params)
    assert caught.value.details.get("option") == option
