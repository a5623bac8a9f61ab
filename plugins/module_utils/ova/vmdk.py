# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A streamOptimized VMDK writer: the disk format of OVA packages (VMware Virtual Disk Format 1.1).

The file is written front to back in one pass, never seeking, so it can go straight into a tar
member (ova/export.py):

    sector 0       sparse extent header (magic KDMV, version 3, compressed grains + markers,
                   gdOffset = GD_AT_END: the grain directory is found through the footer)
    sector 1..20   the embedded text descriptor (createType="streamOptimized")
    sector 128..   for each grain (64 KiB of guest data) that is not all zeros: a grain marker
                   (LBA, compressed size) and the zlib-deflated data, padded to a whole sector;
                   after the grains of every 512-grain span (32 MiB), that span's grain table
                   (GT marker + 512 entries pointing at the grain markers). A span without data
                   has no table, and its grain directory entry is 0 (reads as zeros).
    then           GD marker + grain directory, footer marker + footer (the header again, with
                   the real gdOffset), end-of-stream marker.

Grains are compressed by a few threads at once (zlib releases the GIL), in order, with a bounded
number in flight, so memory stays at a few MiB whatever the disk size.
"""

from __future__ import annotations

import concurrent.futures
import os
import struct
import zlib

SECTOR = 512
GRAIN_SECTORS = 128
GRAIN = GRAIN_SECTORS * SECTOR          # 64 KiB
GTES = 512                              # grain table entries per table
DESCRIPTOR_SECTORS = 20
OVERHEAD_SECTORS = 128                  # metadata before the first grain (VMware and qemu use 128)
MAGIC = 0x564D444B                      # "KDMV"
GD_AT_END = 0xFFFFFFFFFFFFFFFF
FLAGS = 0x1 | 0x10000 | 0x20000         # valid newline test, compressed grains, markers
COMPRESSION_DEFLATE = 1
HEADER = struct.Struct("<IIIQQQQIQQQB4sH")
MARKER = struct.Struct("<QII")           # numSectors/LBA, size, type
MARKER_EOS, MARKER_GT, MARKER_GD, MARKER_FOOTER = 0, 1, 2, 3
ZERO_GRAIN = bytes(GRAIN)
ADAPTERS = ("ide", "buslogic", "lsilogic", "legacyESX")
FORMAT_URL = "http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"


def _pad(size):
    return -size % SECTOR


def header(capacity_sectors, gd_offset=GD_AT_END):
    """The 512-byte sparse extent header (and, with the real gd_offset, the footer)."""
    data = HEADER.pack(MAGIC, 3, FLAGS, capacity_sectors, GRAIN_SECTORS, 1, DESCRIPTOR_SECTORS,
                       GTES, 0, gd_offset, OVERHEAD_SECTORS, 0, b"\n \r\n", COMPRESSION_DEFLATE)
    return data + bytes(SECTOR - len(data))


def marker(kind, sectors):
    return MARKER.pack(sectors, 0, kind) + bytes(SECTOR - MARKER.size)


def geometry(capacity_sectors, adapter):
    """CHS geometry for the descriptor, as VMware computes it (IDE: 16 heads, else 255)."""
    heads = 16 if adapter == "ide" else 255
    return min(capacity_sectors // (heads * 63), 65535), heads, 63


def descriptor(capacity_sectors, extent_name, adapter="lsilogic", cid=0xFFFFFFFE):
    if adapter not in ADAPTERS:
        raise ValueError("adapter %r is not one of %s" % (adapter, ", ".join(ADAPTERS)))
    if '"' in extent_name or "\n" in extent_name:
        raise ValueError("extent name %r cannot hold quotes or newlines" % extent_name)
    cylinders, heads, sectors = geometry(capacity_sectors, adapter)
    text = ("# Disk DescriptorFile\nversion=1\nCID=%08x\nparentCID=ffffffff\ncreateType=\"streamOptimized\"\n\n"
            "# Extent description\nRW %d SPARSE \"%s\"\n\n# The Disk Data Base\n#DDB\n\n"
            "ddb.adapterType = \"%s\"\nddb.geometry.cylinders = \"%d\"\nddb.geometry.heads = \"%d\"\n"
            "ddb.geometry.sectors = \"%d\"\nddb.virtualHWVersion = \"4\"\n"
            % (cid & 0xFFFFFFFF, capacity_sectors, extent_name, adapter, cylinders, heads, sectors))
    data = text.encode("utf-8")
    if len(data) > DESCRIPTOR_SECTORS * SECTOR:
        raise ValueError("descriptor too long for its %d sectors" % DESCRIPTOR_SECTORS)
    return data + bytes(DESCRIPTOR_SECTORS * SECTOR - len(data))


def _compress_chunk(offset, data, level):
    """(grain index, marker + deflated grain, padded) for every non-zero grain of an aligned chunk."""
    out = []
    view = memoryview(data)
    for start in range(0, len(data), GRAIN):
        grain = view[start:start + GRAIN]
        if len(grain) < GRAIN:  # the last, partial grain of the disk: zero-padded to a whole grain
            grain = memoryview(bytes(grain) + bytes(GRAIN - len(grain)))
        if grain == ZERO_GRAIN:
            continue
        packed = zlib.compress(grain, level)
        lba = (offset + start) // SECTOR
        body = struct.pack("<QI", lba, len(packed)) + packed
        out.append(((offset + start) // GRAIN, body + bytes(_pad(len(body)))))
    return out


class Writer:
    """Writes one streamOptimized VMDK to `out` (anything with write()), front to back.

    capacity -- the guest-visible size in bytes (rounded up to whole sectors)
    chunks   -- feed() calls with (offset, data): grain-aligned offsets, increasing; data a whole
                number of grains except at the very end of the disk. What is never fed reads as zeros.
    """

    def __init__(self, out, capacity, extent_name, adapter="lsilogic", cid=0xFFFFFFFE, level=6, workers=None):
        self.out = out
        self.capacity_sectors = -(-capacity // SECTOR)
        self.level = level
        self.position = 0
        self.directory = [0] * (-(-self.capacity_sectors // (GTES * GRAIN_SECTORS)) or 1)
        self.table_index = 0
        self.table = [0] * GTES
        self.grains = 0
        self.next_offset = 0
        self.pool = concurrent.futures.ThreadPoolExecutor(workers or min(4, os.cpu_count() or 1))
        self.pending = []
        self.inflight = 2 * self.pool._max_workers
        self._write(header(self.capacity_sectors))
        self._write(descriptor(self.capacity_sectors, extent_name, adapter, cid))
        self._write(bytes((OVERHEAD_SECTORS - 1 - DESCRIPTOR_SECTORS) * SECTOR))

    def _write(self, data):
        self.out.write(data)
        self.position += len(data)

    def feed(self, offset, data):
        if offset % GRAIN or offset < self.next_offset:
            raise ValueError("chunks must be grain-aligned and in order (offset %d)" % offset)
        if offset + len(data) > self.capacity_sectors * SECTOR:
            raise ValueError("chunk at %d runs past the disk's end" % offset)
        self.next_offset = offset + len(data)
        self.pending.append(self.pool.submit(_compress_chunk, offset, data, self.level))
        while len(self.pending) >= self.inflight:
            self._drain_one()

    def _drain_one(self):
        for index, body in self.pending.pop(0).result():
            table = index // GTES
            if table != self.table_index:
                self._flush_table()
                self.table_index = table
            self.table[index % GTES] = self.position // SECTOR
            self._write(body)
            self.grains += 1

    def _flush_table(self):
        if any(self.table):
            self._write(marker(MARKER_GT, GTES * 4 // SECTOR))
            self.directory[self.table_index] = self.position // SECTOR
            self._write(struct.pack("<%dI" % GTES, *self.table))
        self.table = [0] * GTES

    def close(self):
        """Finish the stream: the last grain table, the directory, footer and end-of-stream marker.
        Returns the number of bytes written."""
        try:
            while self.pending:
                self._drain_one()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self._flush_table()
        gd = struct.pack("<%dI" % len(self.directory), *self.directory)
        gd += bytes(_pad(len(gd)))
        self._write(marker(MARKER_GD, len(gd) // SECTOR))
        gd_offset = self.position // SECTOR
        self._write(gd)
        self._write(marker(MARKER_FOOTER, 1))
        self._write(header(self.capacity_sectors, gd_offset))
        self._write(marker(MARKER_EOS, 0))
        return self.position

    def abort(self):
        self.pool.shutdown(wait=True, cancel_futures=True)
