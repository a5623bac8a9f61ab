"""ova/vmdk.py and ova/diskread.py: streamOptimized VMDKs that qemu-img reads back equal to their
source (qemu-img is the independent reader), the stream layout, a qcow2 read through qemu-nbd."""

from __future__ import annotations

import json
import os
import struct
import subprocess

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.ova import diskread, vmdk

MIB = 1 << 20
GRAIN = vmdk.GRAIN


def qemu_img(*argv):
    return subprocess.run(["qemu-img", *map(str, argv)], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def source(tmp_path):
    """40 MiB + 1536 bytes (a partial last grain, two grain tables, an empty 32 MiB span between
    data): random grains, a grain of text, a grain that is zero except one byte, holes."""
    path = tmp_path / "disk.raw"
    with open(path, "wb") as out:
        out.write(os.urandom(3 * GRAIN + 100))
        out.seek(5 * MIB)
        out.write(b"virtcloud " * 7000)
        out.seek(7 * MIB + GRAIN - 1)
        out.write(b"\x01")
        out.seek(9 * MIB)
        out.write(os.urandom(GRAIN) + bytes(GRAIN) + os.urandom(GRAIN))  # zeros written: allocated, skipped
        out.seek(40 * MIB)
        out.write(os.urandom(1536))
    return str(path)


def write(src, dest, fmt="raw", chunk=diskread.CHUNK, workers=None):
    size = json.loads(qemu_img("info", "--output=json", "-f", fmt, src))["virtual-size"]
    reader = diskread.open_disk(src, fmt)
    try:
        with open(dest, "wb") as out:
            writer = vmdk.Writer(out, size, os.path.basename(dest), workers=workers)
            for offset, data in diskread.chunks(reader, diskread.data_ranges(src, fmt), size, chunk):
                writer.feed(offset, data)
            length = writer.close()
    finally:
        reader.close()
    assert os.path.getsize(dest) == length
    return writer


@pytest.mark.parametrize("workers", [1, 3])
def test_vmdk_equals_its_source(tmp_path, source, workers):
    dest = str(tmp_path / "disk.vmdk")
    writer = write(source, dest, chunk=GRAIN * 3, workers=workers)
    # 4 random grains, the text (70000 bytes from 5 MiB: 2 grains), the one-byte grain, 2 random
    # grains around a written zero grain, the last one
    assert writer.grains == 10
    info = json.loads(qemu_img("info", "--output=json", dest))
    assert info["format"] == "vmdk" and info["format-specific"]["data"]["create-type"] == "streamOptimized"
    assert info["virtual-size"] == 40 * MIB + 1536
    qemu_img("check", dest)
    qemu_img("compare", "-f", "raw", "-F", "vmdk", source, dest)


def test_stream_layout(tmp_path, source):
    dest = str(tmp_path / "disk.vmdk")
    write(source, dest)
    with open(dest, "rb") as handle:
        data = handle.read()
    head = vmdk.HEADER.unpack_from(data)
    assert data[:4] == b"KDMV" and head[1] == 3 and head[2] == 0x30001 and head[9] == vmdk.GD_AT_END
    assert head[3] == (40 * MIB + 1536) // 512 and head[4] == 128 and head[-1] == 1
    assert b'createType="streamOptimized"' in data[512:1024 * 10]
    # the end: footer marker, footer (the header with the directory's offset), end-of-stream marker
    assert struct.unpack_from("<QII", data, len(data) - 1536) == (1, 0, vmdk.MARKER_FOOTER)
    assert data[-512:] == bytes(512)
    footer = vmdk.HEADER.unpack_from(data, len(data) - 1024)
    gd_offset = footer[9] * 512
    assert struct.unpack_from("<QII", data, gd_offset - 512)[2] == vmdk.MARKER_GD
    directory = struct.unpack_from("<2I", data, gd_offset)
    assert directory[0] and directory[1]  # two spans with data, each its own table
    # every grain table entry points at a grain marker whose LBA is that grain's
    table = struct.unpack_from("<512I", data, directory[0] * 512)
    for index, sector in enumerate(table):
        if sector:
            assert struct.unpack_from("<Q", data, sector * 512)[0] == index * 128


def test_qcow2_through_nbd(tmp_path, source):
    qcow2 = str(tmp_path / "disk.qcow2")
    qemu_img("convert", "-f", "raw", "-O", "qcow2", source, qcow2)
    overlay = str(tmp_path / "overlay.qcow2")
    qemu_img("create", "-f", "qcow2", "-F", "qcow2", "-b", qcow2, overlay)
    qemu_img("compare", "-f", "raw", "-F", "qcow2", source, overlay)
    dest = str(tmp_path / "disk.vmdk")
    assert write(overlay, dest, "qcow2").grains == 10  # the backing chain's data, as the guest sees it
    qemu_img("compare", "-f", "raw", "-F", "vmdk", source, dest)


def test_data_ranges_skip_holes(source):
    ranges = diskread.data_ranges(source, "raw")
    assert all(start % GRAIN == 0 and end % GRAIN == 0 for start, end in ranges)
    assert sum(end - start for start, end in ranges) < 4 * MIB  # of a 40 MiB disk


def test_writer_refuses_unordered_chunks(tmp_path):
    with open(tmp_path / "x.vmdk", "wb") as out:
        writer = vmdk.Writer(out, 4 * MIB, "x.vmdk")
        writer.feed(GRAIN, bytes(GRAIN))
        with pytest.raises(ValueError):
            writer.feed(0, bytes(GRAIN))
        with pytest.raises(ValueError):
            writer.feed(GRAIN * 2 + 1, bytes(GRAIN))
        writer.abort()
    with pytest.raises(ValueError):
        vmdk.descriptor(100, 'bad"name')
