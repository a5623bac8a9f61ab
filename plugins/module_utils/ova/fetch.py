# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An OVA given as an http(s) URL: fetched once into a cache directory, then read like a local file.

The download goes to a temporary name in the cache directory and is renamed when complete, so a
cached file is always whole; a later run with the same URL uses it without asking the server
again (delete it to fetch anew). What protects the content is the archive's manifest, which the
importer checks as for any OVA."""

from __future__ import annotations

import hashlib
import os
import tempfile

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError

CHUNK = 1 << 20


def is_url(src):
    return src.lower().startswith(("http://", "https://"))


def cached_path(url, cache_dir, checksum=None):
    """Where `url` is cached: a name derived from the URL (and the expected checksum, so content
    fetched for another checksum is never taken), ending in the URL's file name."""
    base = os.path.basename(url.split("?", 1)[0].split("#", 1)[0].rstrip("/")) or "download"
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in base)[-80:]
    key = url if checksum is None else "%s\n%s:%s" % ((url,) + tuple(checksum))
    return os.path.join(cache_dir, "%s-%s" % (hashlib.sha256(key.encode()).hexdigest()[:16], safe))


def fetch(url, cache_dir, validate_certs=True, timeout=60, option="src", checksum=None):
    """The local path of `url`'s content, downloaded into `cache_dir` unless it is there already.
    With `checksum` (algorithm, hex digest) the download is hashed as it arrives and kept only
    when it matches (an InputError naming `checksum` otherwise, the partial file removed)."""
    path = cached_path(url, cache_dir, checksum)
    if os.path.isfile(path):
        return path
    from ansible.module_utils.urls import open_url  # only when something is fetched

    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise InputError("cache_dir", "cannot create %s: %s" % (cache_dir, exc.strerror))
    handle, temp = tempfile.mkstemp(prefix=".part-", dir=cache_dir)
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = open_url(url, validate_certs=validate_certs, timeout=timeout, follow_redirects="safe")
            except Exception as exc:  # urllib's errors, ssl errors, ...: all mean the same to the user
                raise InputError(option, "cannot fetch %s: %s" % (url, exc))
            length = response.headers.get("Content-Length")
            got = 0
            digest = hashlib.new(checksum[0]) if checksum else None
            while True:
                block = response.read(CHUNK)
                if not block:
                    break
                out.write(block)
                got += len(block)
                if digest is not None:
                    digest.update(block)
            if length is not None and length.isdigit() and got != int(length):
                raise BackendError("fetching %s ended after %d of %s bytes" % (url, got, length))
            if digest is not None and digest.hexdigest() != checksum[1]:
                raise InputError("checksum", "%s has %s:%s, not the %s:%s expected; nothing was kept"
                                 % (url, checksum[0], digest.hexdigest(), checksum[0], checksum[1]))
        os.rename(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return path
