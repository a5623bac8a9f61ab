# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""qemu-img as an API: machine-readable output only (--output=json), errors as VirtcloudErrors."""

from __future__ import annotations

import json
import shutil
import subprocess

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    BackendUnavailable,
    InputError,
)


def _binary():
    path = shutil.which("qemu-img")
    if path is None:
        raise BackendUnavailable("qemu-img is not installed on the managed host (Debian/Ubuntu: qemu-utils, "
                                 "Fedora/RHEL: qemu-img)")
    return path


def run(*args):
    """Run qemu-img with args; return stdout. A failure raises BackendError with qemu-img's message."""
    proc = subprocess.run([_binary()] + [str(a) for a in args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackendError("qemu-img %s failed: %s" % (args[0], (proc.stderr or proc.stdout).strip()))
    return proc.stdout


def info(path, option):
    """qemu-img info of an image file as a dict; InputError naming `option` when it is not readable."""
    # -U: reading the header of an image a running guest holds open is safe and should not fail
    proc = subprocess.run([_binary(), "info", "-U", "--output=json", path], capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputError(option, "cannot read %s as a disk image: %s" % (path, proc.stderr.strip()))
    return json.loads(proc.stdout)
