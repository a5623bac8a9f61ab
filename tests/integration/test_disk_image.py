"""virtcloud.core.disk_image with the real qemu-img: create, convert, resize, Azure page blob VHD."""

from __future__ import annotations

import json
import os
import struct

import pytest

from conftest import converge as shared_converge
from conftest import run_module, sh

MIB = 1 << 20


def converge(**args):
    return shared_converge("disk_image", **args)


def qemu_info(path, fmt=None):
    argv = ["qemu-img", "info", "--output=json"] + (["-f", fmt] if fmt else []) + [path]
    return json.loads(sh(*argv).stdout)


@pytest.fixture
def source(tmp_path):
    """A qcow2 image of 10,000,000 bytes (not a whole MiB) with recognisable data in it."""
    raw = tmp_path / "data.raw"
    with open(raw, "wb") as out:
        out.write(b"virtcloud!" * 50000)
        out.truncate(10000000 - 10000000 % 512)
    path = str(tmp_path / "source.qcow2")
    sh("qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), path)
    return path, str(raw)


def test_create_and_resize(tmp_path):
    path = str(tmp_path / "new.qcow2")
    created = converge(path=path, format="qcow2", size="64MiB")
    assert created["image"]["virtual_size"] == 64 * MIB
    assert not os.path.exists(tmp_path / "x") and qemu_info(path)["virtual-size"] == 64 * MIB
    assert not os.path.exists(path + ".virtcloud-tmp")
    converge(path=path, size="96MiB")
    assert qemu_info(path)["virtual-size"] == 96 * MIB

    shrink = run_module("disk_image", path=path, size="32MiB")
    assert shrink["failed"] and shrink["option"] == "size" and "allow_shrink" in shrink["msg"]
    assert qemu_info(path)["virtual-size"] == 96 * MIB
    bad = run_module("disk_image", path=path, size="5 parsecs")
    assert bad["failed"] and bad["option"] == "size"

    report = run_module("disk_image", path=path)
    assert not report["changed"] and report["image"]["format"] == "qcow2"
    removed = run_module("disk_image", path=path, state="absent")
    assert removed["changed"] and not os.path.exists(path)


@pytest.mark.parametrize("fmt", ["raw", "vmdk", "vpc", "vhdx"])
def test_convert(tmp_path, source, fmt):
    src, raw = source
    out = str(tmp_path / ("out." + fmt))
    result = converge(path=out, source=src, format=fmt)
    assert result["image"]["format"] == fmt
    assert qemu_info(out)["format"] == fmt
    sh("qemu-img", "compare", "-f", "raw", "-F", fmt, raw, out)


def test_azure_page_blob(tmp_path, source):
    src, raw = source
    vhd = str(tmp_path / "azure.vhd")
    result = converge(path=vhd, source=src, profile="azure_page_blob")
    assert result["image"]["subformat"] == "fixed" and result["image"]["virtual_size"] == 10 * MIB

    # read the VHD footer ourselves: cookie, current size (rounded up to a whole MiB), fixed disk
    with open(vhd, "rb") as image:
        image.seek(-512, os.SEEK_END)
        footer = image.read(512)
    assert footer[:8] == b"conectix"
    current_size = struct.unpack(">Q", footer[48:56])[0]
    assert current_size == 10 * MIB and current_size % MIB == 0
    assert struct.unpack(">I", footer[60:64])[0] == 2  # fixed hard disk
    assert os.path.getsize(vhd) == 10 * MIB + 512
    assert qemu_info(vhd, "vpc")["virtual-size"] == 10 * MIB
    # the data survived; the padding to the whole MiB is zeros
    sh("qemu-img", "compare", "-f", "raw", "-F", "vpc", raw, vhd)

    # a newer source makes the output stale; an untouched one leaves it alone
    older = os.stat(src).st_mtime - 10
    os.utime(vhd, (older, older))
    assert run_module("disk_image", path=vhd, source=src, profile="azure_page_blob")["changed"]
    assert not run_module("disk_image", path=vhd, source=src, profile="azure_page_blob")["changed"]


def test_vhd_to_page_blob_in_place(tmp_path):
    """A dynamic VHD of an odd size becomes a fixed, MiB-aligned one without a source."""
    path = str(tmp_path / "disk.vhd")
    converge(path=path, format="vpc", size="3000000")
    assert run_module("disk_image", path=path)["image"]["subformat"] == "dynamic"
    result = converge(path=path, profile="azure_page_blob")
    assert result["image"]["subformat"] == "fixed" and result["image"]["virtual_size"] == 3 * MIB
