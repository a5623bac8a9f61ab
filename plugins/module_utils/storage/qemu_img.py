# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""qemu-img as an API: machine-readable output only (--output=json), errors as VirtcloudErrors."""

from __future__ import annotations

import json
import os
import shutil
import struct
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
    proc = subprocess.run([_binary()] + [str(a) for a in args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BackendError("qemu-img %s failed: %s" % (args[0], (proc.stderr or proc.stdout).strip()))
    return proc.stdout


VHD_FOOTER = 512
VHD_DISK_TYPES = {2: "fixed", 3: "dynamic", 4: "differencing"}


def vhd_footer(path):
    """The VHD footer fields we use, or None when the file does not end in one. A fixed VHD is raw
    data plus this footer, so qemu-img's format probe calls it raw; the footer tells the truth."""
    try:
        with open(path, "rb") as image:
            image.seek(0, os.SEEK_END)
            if image.tell() < VHD_FOOTER:
                return None
            image.seek(-VHD_FOOTER, os.SEEK_END)
            footer = image.read(VHD_FOOTER)
    except OSError:
        return None
    if footer[:8] != b"conectix":
        return None
    original, current = struct.unpack(">QQ", footer[40:56])
    disk_type = struct.unpack(">I", footer[60:64])[0]
    return {"original_size": original, "current_size": current,
            "subformat": VHD_DISK_TYPES.get(disk_type, str(disk_type))}


def info(path, option):
    """qemu-img info of an image file as a dict (fixed VHDs recognised, with their subformat);
    InputError naming `option` when it is not readable."""
    data = _info(path, option)
    if data["format"] in ("raw", "vpc"):
        footer = vhd_footer(path)
        if footer is not None:
            if data["format"] == "raw":
                data = _info(path, option, "vpc")
            data["subformat"] = footer["subformat"]
    return data


# formats an input image may be given as (qemu-img's names; vpc is VHD)
INPUT_FORMATS = ["raw", "qcow2", "qcow", "vmdk", "vpc", "vhdx", "vdi", "qed", "parallels", "dmg"]


def source_info(path, option, fmt=None):
    """qemu-img info of an image this run reads from (a conversion's source, an upload), checked to
    read nothing but itself. The format is probed once, or taken as `fmt` (the user's word: a file
    given as raw is copied byte for byte, whatever header it carries); every later qemu-img call
    states it."""
    path = os.path.abspath(path)  # never a protocol prefix such as 'json:' or 'nbd:' for qemu-img
    data = _info(path, option, fmt) if fmt else info(path, option)
    refuse_outside(data, path, option)
    return data


def outside(data, path):
    """The other files qemu-img would read when it reads the image `data` describes: a backing
    file, a qcow2 external data file, VMDK extents that are not the image itself."""
    found = []
    if data.get("backing-filename"):
        found.append("the backing file %s" % data.get("full-backing-filename", data["backing-filename"]))
    specific = (data.get("format-specific") or {}).get("data") or {}
    if specific.get("data-file"):
        found.append("the external data file %s" % specific["data-file"])
    for extent in specific.get("extents") or []:
        name = os.path.join(os.path.dirname(path), extent.get("filename") or "")
        if os.path.realpath(name) != os.path.realpath(path):
            found.append("the extent file %s" % name)
    return found


def refuse_outside(data, path, option):
    """InputError naming `option` when reading the image would read other files: qemu-img would
    copy their content into whatever it writes."""
    found = outside(data, path)
    if found:
        raise InputError(option, "%s is a %s image that reads %s; only self-contained images are taken (qemu-img "
                                 "would copy that content into the result). Convert it to a standalone image first, "
                                 "or give its format explicitly as raw to take the file's bytes as they are"
                         % (path, data["format"], ", ".join(found)))


def image_info(source, option, fmt):
    """qemu-img info of `source` read as format `fmt` (never probed): a path, or a json: source such
    as a member of an archive read where it lies."""
    return _info(source, option, fmt)


def _info(path, option, fmt=None):
    # -U: reading the header of an image a running guest holds open is safe and should not fail
    argv = [_binary(), "info", "-U", "--output=json"] + (["-f", fmt] if fmt else []) + [path]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise InputError(option, "cannot read %s as a disk image: %s" % (path, proc.stderr.strip()))
    return json.loads(proc.stdout)
