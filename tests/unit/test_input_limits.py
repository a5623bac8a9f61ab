"""The backends' own limits and grammar, checked before anything is written (issue 21, defect 3):
what libvirt, QEMU and dockerd refuse only when they write is refused here with the option named."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import container_runtime as runtime
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import LibvirtService
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import etree, user_tree

EXTERNAL = '<!DOCTYPE domain [<!ENTITY e SYSTEM "file:///etc/passwd">]><domain><description>&e;</description></domain>'


@pytest.fixture(autouse=True)
def fresh_error_log():
    """lxml keeps the errors of a failed parse in its per-thread log, and ova/ovf.py's safe_tree
    reads that log: leave it empty for the tests that come after these."""
    yield
    etree.clear_error_log()


@pytest.mark.parametrize("text", [EXTERNAL, '<!DOCTYPE domain [<!ENTITY e "x">]><domain>&e;</domain>',
                                  "<!DOCTYPE domain><domain/>"])
def test_xml_with_a_document_type_is_refused(text):
    with pytest.raises(InputError) as info:
        user_tree(text, "xml", "domain")
    assert info.value.option == "xml" and "document type declaration" in info.value.problem


def test_user_xml_must_be_well_formed_and_of_its_kind():
    assert user_tree("<domain><name>a &amp; b</name></domain>", "xml", "domain").findtext("name") == "a & b"
    for text, problem in (("<domain>&e;</domain>", "not well-formed"), ("<network/>", "must be <domain>")):
        with pytest.raises(InputError) as info:
            user_tree(text, "xml", "domain")
        assert info.value.option == "xml" and problem in info.value.problem


@pytest.mark.parametrize("name", [".", ".."])
def test_volume_names_that_name_the_pool_directory(name):
    with pytest.raises(InputError, match="names the pool's directory"):
        LibvirtService.check_volume_name(name, "disks[0].volume")
    assert LibvirtService.check_volume_name("..x") == "..x"


def test_volume_sizes_qemu_opens():
    assert LibvirtService.check_capacity(2 ** 51, "qcow2", "capacity") == 2 ** 51
    with pytest.raises(InputError, match="^capacity: .* more than a qcow2 volume takes"):
        LibvirtService.check_capacity(2 ** 51 + 512, "qcow2", "capacity")
    assert LibvirtService.check_capacity(2 ** 62, "raw", "capacity") == 2 ** 62
    with pytest.raises(InputError, match="QEMU's block layer"):
        LibvirtService.check_capacity(99999999 * 2 ** 40, "raw", "capacity")


def test_docker_sizes():
    assert runtime.memory_limit("6MiB", "memory") == 6 * 2 ** 20 and runtime.memory_limit(0, "memory") == 0
    for value, problem in (("99999999TiB", "more than dockerd takes"), ("4k", "less than the 6 MiB")):
        with pytest.raises(InputError) as info:
            runtime.memory_limit(value, "memory")
        assert problem in info.value.problem
    with pytest.raises(InputError, match="^shm_size: "):
        runtime.positive_size("99999999TiB", "shm_size")
