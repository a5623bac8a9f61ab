# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Base images: a local file or an http(s) URL, checked against a checksum, decompressed (xz, gz),
kept in a cache directory; the result is a local image file that qemu-img reads.

Every file written into the cache goes to a temporary name there first and is renamed when whole,
so a cached file is never partial and a failed run leaves nothing behind."""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import re
import shutil
import tempfile

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.ova import fetch

CHECKSUM_LENGTHS = {"sha256": 64, "sha512": 128}
CHUNK = 1 << 20
# compressed files are recognised by their first bytes, never by their name
MAGIC = ((b"\xfd7zXZ\x00", "xz", lzma.open), (b"\x1f\x8b", "gz", gzip.open))


def parse_checksum(value, option="checksum"):
    """('sha256' | 'sha512', lower-case hex) from 'sha256:HEX', or None."""
    if value is None:
        return None
    match = re.match(r"^\s*(sha256|sha512):([0-9a-fA-F]+)\s*$", value)
    if match is None or len(match.group(2)) != CHECKSUM_LENGTHS[match.group(1)]:
        raise InputError(option, "expected sha256:<64 hex digits> or sha512:<128 hex digits>, got %r" % value)
    return match.group(1), match.group(2).lower()


def file_digest(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as image:
        for block in iter(lambda: image.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def compression(path):
    """('xz' | 'gz', opener) when the file starts with that format's magic bytes, else None."""
    with open(path, "rb") as image:
        head = image.read(8)
    for magic, name, opener in MAGIC:
        if head.startswith(magic):
            return name, opener
    return None


def write_cached(path, write):
    """Make the cache file `path` by `write(temporary file object)`: renamed into place when whole."""
    handle, temp = tempfile.mkstemp(prefix=".part-", dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.rename(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def local_image(source, checksum, cache_dir, validate_certs=True, option="source"):
    """The local, uncompressed image file of `source` (a path or an http(s) URL), its content
    checked against `checksum` (as parse_checksum returns it) before anything uses it. A URL is
    downloaded into `cache_dir` once per URL and checksum; a compressed image is decompressed
    there once per file content (a name from the checksum, or from path, size and time)."""
    if fetch.is_url(source):
        path = fetch.fetch(source, cache_dir, validate_certs, option=option, checksum=checksum)
    else:
        path = os.path.abspath(source)
        if not os.path.isfile(path):
            raise InputError(option, "%s is not a file (nor an http:// or https:// URL)" % source)
    if checksum is not None:
        # again for a cached download too: the cache is a directory anyone with access may change
        found = file_digest(path, checksum[0])
        if found != checksum[1]:
            raise InputError("checksum", "%s has %s:%s, not the %s:%s expected; nothing was uploaded"
                             % (source, checksum[0], found, checksum[0], checksum[1]))
    packed = compression(path)
    if packed is None:
        return path
    kind, opener = packed
    if checksum is not None:
        key = "%s:%s" % checksum
    else:
        stat = os.stat(path)
        key = "%s\n%d\n%d" % (path, stat.st_size, stat.st_mtime_ns)
    target = os.path.join(cache_dir, "%s.unpacked" % hashlib.sha256(key.encode()).hexdigest()[:32])
    if not os.path.isfile(target):
        try:
            os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        except OSError as exc:
            raise InputError("cache_dir", "cannot create %s: %s" % (cache_dir, exc.strerror))

        def unpack(out):
            try:
                with opener(path, "rb") as packed_file:
                    shutil.copyfileobj(packed_file, out, CHUNK)
            except (OSError, EOFError, lzma.LZMAError) as exc:
                raise InputError(option, "%s starts as %s data but does not decompress: %s" % (source, kind, exc))

        write_cached(target, unpack)
    return target
