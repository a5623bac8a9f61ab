# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OVF manifests (.mf): one digest per package file, ``SHA256(disk1.vmdk)= <hex>``.

ovftool writes ``SHA256(name)= hex``, VirtualBox ``SHA1 (name) = hex``; both (and SHA512) are read.
Member ranges are hashed in chunks, so a disk of any size costs a constant amount of memory.
"""

from __future__ import annotations

import hashlib
import re

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.ova.archive import check_name

DIGEST_LENGTHS = {"sha1": 40, "sha256": 64, "sha512": 128}
_LINE = re.compile(r"^\s*(SHA1|SHA256|SHA512)\s*\((.+)\)\s*=\s*([0-9A-Fa-f]+)\s*$", re.IGNORECASE)
MAX_MANIFEST = 1 << 20  # bytes; one line per package file


def parse(text, option="src", name="manifest"):
    """{file name: (algorithm, lower-case hex digest)}; any malformed line is an InputError."""
    if isinstance(text, bytes):
        if len(text) > MAX_MANIFEST:
            raise InputError(option, "the %s is %d bytes, more than %d" % (name, len(text), MAX_MANIFEST))
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError(option, "the %s is not UTF-8 text" % name)
    entries = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise InputError(option, "line %d of the %s is not 'SHA256(file)= digest' (nor SHA1, SHA512): %r"
                             % (number, name, line[:120]))
        algorithm, member, digest = match.group(1).lower(), match.group(2).strip(), match.group(3).lower()
        if len(digest) != DIGEST_LENGTHS[algorithm]:
            raise InputError(option, "line %d of the %s: a %s digest has %d hex digits, not %d"
                             % (number, name, algorithm.upper(), DIGEST_LENGTHS[algorithm], len(digest)))
        check_name(member, option, "the %s entry" % name)
        if member in entries:
            raise InputError(option, "line %d of the %s: %s is listed twice" % (number, name, member))
        entries[member] = (algorithm, digest)
    return entries


def hasher(algorithm):
    if algorithm not in DIGEST_LENGTHS:
        raise ValueError("unsupported manifest algorithm %r" % (algorithm,))
    return hashlib.new(algorithm)


def hash_member(member, algorithm, chunk=1 << 20):
    """The hex digest of a member's byte range, read `chunk` bytes at a time."""
    digest = hasher(algorithm)
    for data in member.blocks(chunk):
        digest.update(data)
    return digest.hexdigest()
