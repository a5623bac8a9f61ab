# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A guest disk read as the guest sees it, in order, without a temporary copy.

- Where the data is: `qemu-img map --output=json` (the whole backing chain; holes and zero
  clusters are never read).
- Reading it: a raw file directly; any other format (qcow2, with or without a backing chain)
  through `qemu-nbd --read-only` on a private unix socket, with the minimal NBD client below
  (fixed newstyle handshake, NBD_OPT_EXPORT_NAME, simple replies, NBD_CMD_READ).
`chunks()` yields grain-aligned (offset, data) pieces of a few MiB for ova/vmdk.py.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError
from ansible_collections.virtcloud.core.plugins.module_utils.storage import qemu_img

CHUNK = 4 << 20      # bytes per read (NBD allows up to 32 MiB per request)
ALIGN = 64 << 10     # VMDK grain

NBD_MAGIC = b"NBDMAGIC"
IHAVEOPT = 0x49484156454F5054
OPT_EXPORT_NAME = 1
FLAG_FIXED_NEWSTYLE, FLAG_NO_ZEROES = 1, 2
REQUEST_MAGIC, REPLY_MAGIC = 0x25609513, 0x67446698
CMD_READ, CMD_DISC = 0, 2


def data_ranges(path, fmt, alignment=ALIGN):
    """Merged [start, end) ranges holding data, widened to `alignment`, from qemu-img map."""
    extents = json.loads(qemu_img.run("map", "--output=json", "-f", fmt, path))
    ranges = []
    for extent in extents:
        if not extent.get("data") or extent.get("zero"):
            continue
        start = extent["start"] // alignment * alignment
        end = -(-(extent["start"] + extent["length"]) // alignment) * alignment
        if ranges and start <= ranges[-1][1]:
            ranges[-1][1] = max(ranges[-1][1], end)
        else:
            ranges.append([start, end])
    return [tuple(r) for r in ranges]


def chunks(reader, ranges, size, chunk=CHUNK):
    """(offset, data) of every data range, in pieces of at most `chunk` bytes, cut at `size`."""
    for start, end in ranges:
        end = min(end, size)
        offset = start
        while offset < end:
            length = min(chunk, end - offset)
            yield offset, reader.read(offset, length)
            offset += length


class FileReader:
    """A raw image: its bytes are the guest's."""

    def __init__(self, path):
        self.handle = open(path, "rb")  # pylint: disable=consider-using-with

    def read(self, offset, length):
        data = os.pread(self.handle.fileno(), length, offset)
        if len(data) < length:  # past the end of a file shorter than its declared size: zeros
            data += bytes(length - len(data))
        return data

    def close(self):
        self.handle.close()


def _recv(sock, size):
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], size - got)
        if n == 0:
            raise BackendError("qemu-nbd closed the connection")
        got += n
    return buf


class NbdReader:
    """Any image qemu can read, served read-only by a qemu-nbd of our own on a private socket."""

    def __init__(self, path, fmt, timeout=30):
        binary = shutil.which("qemu-nbd")
        if binary is None:
            raise BackendError("qemu-nbd is not installed on the managed host (Debian/Ubuntu: qemu-utils, "
                               "Fedora/RHEL: qemu-img); it reads %s images" % fmt)
        self.dir = tempfile.mkdtemp(prefix="virtcloud-nbd-")
        sock_path = os.path.join(self.dir, "sock")
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [binary, "--read-only", "--format", fmt, "--socket", sock_path, "--shared", "1",
             os.path.abspath(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.sock = None
        self.handle = 0
        try:
            self._connect(sock_path, timeout)
        except BaseException:
            self.close()
            raise

    def _connect(self, sock_path, timeout):
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise BackendError("qemu-nbd could not serve the disk: %s"
                                   % self.proc.stderr.read().decode("utf-8", "replace").strip())
            if os.path.exists(sock_path):
                try:
                    self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self.sock.connect(sock_path)
                    break
                except OSError:
                    self.sock.close()
                    self.sock = None
            if time.monotonic() > deadline:
                raise BackendError("qemu-nbd did not open its socket within %d s" % timeout)
            time.sleep(0.02)
        magic, option_magic, _flags = struct.unpack(">8sQH", _recv(self.sock, 18))
        if magic != NBD_MAGIC or option_magic != IHAVEOPT:
            raise BackendError("qemu-nbd does not speak the fixed newstyle NBD handshake")
        self.sock.sendall(struct.pack(">I", FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES))
        self.sock.sendall(struct.pack(">QII", IHAVEOPT, OPT_EXPORT_NAME, 0))  # the default export ""
        self.size, _transmission = struct.unpack(">QH", _recv(self.sock, 10))

    def read(self, offset, length):
        self.handle += 1
        self.sock.sendall(struct.pack(">IHHQQI", REQUEST_MAGIC, 0, CMD_READ, self.handle, offset, length))
        magic, error, handle = struct.unpack(">IIQ", _recv(self.sock, 16))
        if magic != REPLY_MAGIC or handle != self.handle:
            raise BackendError("unexpected NBD reply from qemu-nbd")
        if error:
            raise BackendError("qemu-nbd failed to read %d bytes at %d: %s" % (length, offset, os.strerror(error)))
        return _recv(self.sock, length)

    def close(self):
        if self.sock is not None:
            try:
                self.sock.sendall(struct.pack(">IHHQQI", REQUEST_MAGIC, 0, CMD_DISC, 0, 0, 0))
            except OSError:
                pass
            self.sock.close()
            self.sock = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def open_disk(path, fmt):
    """A reader of the guest-visible data of the image (read(offset, length) / close())."""
    return FileReader(path) if fmt == "raw" else NbdReader(path, fmt)
