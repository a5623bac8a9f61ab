"""Data flows one way through every libvirt service: `observe` and `resolve` change neither the
desired state they are given nor the service (no handle stashed for `plan` to pick up), on
libvirt's in-process test:///default driver."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import validate_items
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.network import NetworkService
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.storage import StoragePoolService, VolumeService

URI = "test:///default"


@pytest.fixture(autouse=True, scope="module")
def held_test_driver(test_driver):
    return test_driver


@pytest.mark.parametrize("service_class, params", [
    (NetworkService, {"name": "default", "address": "198.18.40.1/24", "dhcp_ranges": [
        {"start": "198.18.40.10", "end": "198.18.40.20"}]}),
    (NetworkService, {"name": "vct-new", "forward": "isolated", "address": "198.18.41.1/24"}),
    (StoragePoolService, {"name": "default-pool", "path": "/default-pool"}),
    (StoragePoolService, {"name": "vct-pool", "path": "/vct-pool", "source": {}}),
    (VolumeService, {"name": "vct.img", "pool": "default-pool", "capacity": "1M", "max_overcommit": 9.0}),
])
def test_observe_and_resolve_change_nothing_they_are_given(service_class, params):
    params = dict(validate_items(service_class, [params], "spec")[0], uri=URI)
    service = service_class(params)
    desired = service.desired()
    service.connect()
    before, attributes = copy.deepcopy(desired), set(vars(service))
    observed = service.observe(desired)
    resolved = service.resolve(desired, observed)
    assert desired == before
    assert set(vars(service)) == attributes
    plan = service.plan(resolved, observed)
    assert set(vars(service)) == attributes and desired == before
    assert plan is not None
