"""Images this collection reads (disk_image `source`, libvirt_volume `upload`) cannot make
qemu-img read other files of the host: a backing file, a qcow2 external data file or a VMDK
extent elsewhere is refused before anything is written (issue 21), and a format given
explicitly is taken at its word. Verified by looking for a host file's bytes in what is left."""

from __future__ import annotations

import os

import pytest

from conftest import run_module, sh  # noqa: E402
from test_libvirt_storage import pool  # noqa: E402,F401 pylint: disable=unused-import

SECRET = b"VCT-HOST-SECRET-0123456789"


@pytest.fixture
def host_file(tmp_path):
    """A file of the managed host the image must not be able to read."""
    path = tmp_path / "host-secret"
    with open(path, "wb") as out:
        out.write(SECRET * 64)
        out.truncate(1 << 20)
    return str(path)


def _hostile(tmp_path, kind, host_file):
    """An image named like a raw disk whose header makes qemu-img read `host_file`."""
    path = str(tmp_path / ("guest-%s.raw" % kind))
    if kind == "backing":
        sh("qemu-img", "create", "-q", "-f", "qcow2", "-b", host_file, "-F", "raw", path, "1M")
    elif kind == "data-file":
        sh("qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file=%s,data_file_raw=on" % host_file, path, "1M")
    else:  # a VMDK descriptor whose flat extent is the host file
        path = str(tmp_path / "guest.vmdk")
        with open(path, "w") as out:
            out.write('# Disk DescriptorFile\nversion=1\nCID=12345678\nparentCID=ffffffff\n'
                      'createType="monolithicFlat"\n\nRW 2048 FLAT "%s" 0\n\n'
                      'ddb.virtualHWVersion = "4"\nddb.geometry.cylinders = "2"\n'
                      'ddb.geometry.heads = "16"\nddb.geometry.sectors = "63"\nddb.adapterType = "ide"\n' % host_file)
    return path


def _holds_secret(path):
    with open(path, "rb") as data:
        return SECRET in data.read()


@pytest.mark.parametrize("kind", ["backing", "data-file", "vmdk-extent"])
def test_disk_image_refuses_a_source_that_reads_other_files(tmp_path, host_file, kind):
    source = _hostile(tmp_path, kind, host_file)
    out = str(tmp_path / "out.qcow2")
    for check in (True, False):
        result = run_module("disk_image", check=check, path=out, format="qcow2", source=source)
        assert result.get("failed") is True, result
        assert result["msg"].startswith("source: %s is a " % source), result["msg"]
        assert host_file in result["msg"] and "self-contained" in result["msg"]
    assert not os.path.exists(out) and not os.path.exists(out + ".virtcloud-tmp")


def test_disk_image_takes_a_format_given_explicitly_at_its_word(tmp_path, host_file):
    source = _hostile(tmp_path, "backing", host_file)
    out = str(tmp_path / "out.qcow2")
    spec = dict(path=out, format="qcow2", source=source, source_format="raw")
    result = run_module("disk_image", **spec)
    assert result.get("changed") is True, result
    assert result["image"]["virtual_size"] == -(-os.path.getsize(source) // 512) * 512  # whole sectors
    assert not _holds_secret(out)
    back = str(tmp_path / "back.raw")
    sh("qemu-img", "convert", "-f", "qcow2", "-O", "raw", out, back)
    with open(back, "rb") as data, open(source, "rb") as original:
        assert data.read(os.path.getsize(source)) == original.read()  # the file's own bytes, header and all
    assert run_module("disk_image", **spec)["changed"] is False


@pytest.mark.parametrize("kind", ["backing", "vmdk-extent"])
def test_libvirt_volume_refuses_an_upload_that_reads_other_files(pool, tmp_path, host_file, kind):
    pool_name, pool_dir = pool
    source = _hostile(tmp_path, kind, host_file)
    for fmt in ("qcow2", "raw"):
        result = run_module("libvirt_volume", pool=pool_name, name="up." + fmt, format=fmt, upload=source)
        assert result.get("failed") is True, result
        assert result["msg"].startswith("upload: %s is a " % source) and host_file in result["msg"], result["msg"]
        assert sh("virsh", "vol-info", "--pool", pool_name, "up." + fmt, check=False).returncode != 0
    assert not any(_holds_secret(os.path.join(pool_dir, name)) for name in os.listdir(pool_dir))


def test_disk_image_refuses_to_rewrite_an_image_that_reads_other_files(tmp_path, host_file):
    """In place: a raw disk a guest wrote a qcow2 header into (with a backing file) must not be
    'converted' by reading the host file; resizing such an overlay reads nothing and stays allowed."""
    path = _hostile(tmp_path, "backing", host_file)
    for fmt in ("raw", "vmdk"):
        result = run_module("disk_image", path=path, format=fmt)
        assert result.get("failed") is True and result["msg"].startswith("path: %s is a qcow2 image that reads "
                                                                         "the backing file %s" % (path, host_file)), result
    assert not _holds_secret(path)
    assert run_module("disk_image", path=path, size="2MiB")["changed"] is True
