"""disk_image: VHD footer reading, size rounding, input validation (no qemu-img needed)."""

from __future__ import annotations

import struct

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.storage.disk_image import (
    DiskImageService,
    _options,
    round_up,
)
from ansible_collections.virtcloud.core.plugins.module_utils.storage.qemu_img import vhd_footer


def params(**kw):
    base = {key: None for key in DiskImageService.argument_spec()}
    base.update(state="present", allow_shrink=False, force=False)
    base.update(kw)
    return base


def footer(size, disk_type=2, cookie=b"conectix"):
    data = bytearray(512)
    data[0:8] = cookie
    data[40:56] = struct.pack(">QQ", size, size)
    data[60:64] = struct.pack(">I", disk_type)
    return bytes(data)


def test_vhd_footer(tmp_path):
    image = tmp_path / "x.vhd"
    image.write_bytes(b"\0" * 4096 + footer(4096))
    assert vhd_footer(str(image)) == {"original_size": 4096, "current_size": 4096, "subformat": "fixed"}
    image.write_bytes(b"\0" * 4096 + footer(4096, disk_type=3))
    assert vhd_footer(str(image))["subformat"] == "dynamic"
    image.write_bytes(b"\0" * 4096 + footer(4096, cookie=b"notavhd!"))
    assert vhd_footer(str(image)) is None
    image.write_bytes(b"short")
    assert vhd_footer(str(image)) is None


def test_round_up_and_options():
    assert round_up(10000000, 1 << 20) == 10 << 20
    assert round_up(10 << 20, 1 << 20) == 10 << 20
    assert _options("vpc", "fixed") == ["-o", "subformat=fixed,force_size=on"]
    assert _options("vpc", None) == ["-o", "subformat=dynamic,force_size=on"]
    assert _options("qcow2", None) == []


def test_azure_profile_sets_fixed_vhd():
    desired = DiskImageService(params(path="/tmp/x.vhd", profile="azure_page_blob", size="10000000")).desired()
    assert (desired["format"], desired["subformat"], desired["align"]) == ("vpc", "fixed", 1 << 20)


@pytest.mark.parametrize("kw, option", [
    ({"size": "3 bananas"}, "size"),
    ({"size": 0}, "size"),
    ({"profile": "azure_page_blob", "format": "qcow2"}, "format"),
    ({"source": "/nonexistent/source.qcow2"}, "source"),
    ({"source": "/tmp/vct-same.img", "path": "/tmp/vct-same.img"}, "source"),
])
def test_bad_input(kw, option, tmp_path):
    if kw.get("source") == "/tmp/vct-same.img":
        kw = dict(kw, source=str(tmp_path / "same.img"), path=str(tmp_path / "same.img"))
        (tmp_path / "same.img").write_bytes(b"")
    kw.setdefault("path", str(tmp_path / "out.img"))
    with pytest.raises(InputError) as err:
        DiskImageService(params(**kw)).desired()
    assert err.value.option == option
