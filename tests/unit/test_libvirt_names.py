"""Names libvirt refuses are refused by every libvirt module before anything is touched
(tests/integration/test_domain.py checks the rules against the real libvirtd)."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import validate_items
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import DomainService
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.network import NetworkService
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage import StoragePoolService, VolumeService

# service, the other options of a valid spec, the longest name allowed
SERVICES = [
    (DomainService, {"memory": "64MiB"}, 247),
    (NetworkService, {"forward": "isolated", "address": "198.18.99.1/24"}, 247),
    (StoragePoolService, {"type": "dir", "path": "/tmp/vct-pool"}, 247),
    (VolumeService, {"pool": "vct-pool", "capacity": "1MiB"}, 255),  # a file of its pool
]


def desired(service_class, **spec):
    params = dict(validate_items(service_class, [spec], "spec")[0], uri="test:///default")
    return service_class(params).desired()


@pytest.mark.parametrize("service_class, spec, longest", SERVICES)
@pytest.mark.parametrize("state", ["present", "absent"])
def test_refused_names(service_class, spec, longest, state):
    for name, why in (("", "must not be empty"), ("  ", "must not be empty"), ("a/b", "cannot contain '/'"),
                      ("a\nb", "cannot contain a newline"), ("é" * longest, "at most %d" % longest)):
        with pytest.raises(InputError) as exc:
            desired(service_class, name=name, state=state, **spec)
        assert exc.value.option == "name" and why in exc.value.msg, (name, exc.value.msg)


@pytest.mark.parametrize("service_class, spec, longest", SERVICES)
def test_names_libvirt_takes(service_class, spec, longest):
    for name in ("x" * longest, "web 1", "db<1>&2", "-x.", "gäst"):
        assert desired(service_class, name=name, **spec)["name"] == name
