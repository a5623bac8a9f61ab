# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Disk image files outside storage pools: create, convert, resize, cloud profiles (qemu-img)."""

from __future__ import annotations

import os

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, Service, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size, parse_size
from ansible_collections.virtcloud.core.plugins.module_utils.storage import qemu_img

FORMATS = ["qcow2", "raw", "vmdk", "vpc", "vhdx"]
MIB = 1024 * 1024
# Azure page blobs: a fixed VHD whose virtual size is a whole number of MiB. force_size keeps
# qemu-img from rounding the size to a CHS geometry, which would break the MiB alignment.
PROFILES = {"azure_page_blob": {"format": "vpc", "subformat": "fixed", "align": MIB}}
SECTOR = 512
# formats qemu-img resizes in place; the others are rebuilt through a raw copy
RESIZABLE = ("qcow2", "raw")


def _options(fmt, subformat):
    """qemu-img -o options: VHDs get exactly the size asked for (force_size), not a CHS-rounded one."""
    if fmt != "vpc":
        return []
    return ["-o", "subformat=%s,force_size=on" % (subformat or "dynamic")]


def round_up(value, align):
    return -(-value // align) * align


def write_new(path, write):
    """Make the file `path` by `write` (a function of the path to write) into a temporary file next
    to it, moved over `path` only when it succeeded: a failure (the disk filled up)
    or a killed run never leaves a partial image at `path`, and the temporary file is removed
    (a killed run's leftover is overwritten by the next)."""
    tmp = path + ".virtcloud-tmp"
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


class DiskImageService(Service):
    result_key = "image"
    options = {
        "path": Opt(type="path", required=True),
        "state": state_opt(["present", "absent"]),
        "format": Opt(choices=FORMATS),
        "size": Opt(type="raw"),
        "source": Opt(type="path"),
        "source_format": Opt(choices=qemu_img.INPUT_FORMATS),
        "profile": Opt(choices=sorted(PROFILES)),
        "allow_shrink": Opt(type="bool", default=False),
        "force": Opt(type="bool", default=False),
    }
    module_kwargs = {"required_by": {"source_format": "source"}}

    def desired(self):
        p = self.params
        # qemu-img works in whole sectors; aligning here keeps reruns idempotent
        d = dict(p, size=parse_size(p["size"], "size"), subformat=None, align=SECTOR)
        if p["state"] == "absent":
            return d
        if p["size"] is not None and d["size"] == 0:
            raise InputError("size", "must be more than 0 bytes")
        if p["source"] is not None:
            if not os.path.isfile(p["source"]):
                raise InputError("source", "%s is not a file" % p["source"])
            if os.path.realpath(p["source"]) == os.path.realpath(p["path"]):
                raise InputError("source", "is the output path itself; to change an image in place give "
                                           "only path with format or size")
            d["source"] = os.path.abspath(p["source"])  # qemu-img reads no 'proto:' prefix in an absolute path
        profile = PROFILES.get(p["profile"])
        if profile:
            if p["format"] not in (None, profile["format"]):
                raise InputError("format", "profile %s makes a %s image; leave format out or set it to %s"
                                           % (p["profile"], profile["format"], profile["format"]))
            d.update(format=profile["format"], subformat=profile["subformat"], align=profile["align"])
        return d

    def observe(self, desired, batch=None):
        if not os.path.exists(desired["path"]):
            return None
        if not os.path.isfile(desired["path"]):
            raise InputError("path", "%s exists and is not a file" % desired["path"])
        return self._facts(qemu_img.info(desired["path"], "path"), desired["path"])

    def resolve(self, desired, observed, batch=None):
        """The source image a conversion reads (format, size, when it last changed)."""
        if desired["state"] != "present" or not desired["source"]:
            return dict(desired, source_info=None)
        data = qemu_img.source_info(desired["source"], "source", desired["source_format"])
        return dict(desired, source_info=self._facts(data, desired["source"]))

    @staticmethod
    def _facts(data, path):
        return {"path": path, "format": data["format"], "subformat": data.get("subformat"),
                "virtual_size": data["virtual-size"], "actual_size": data.get("actual-size"),
                "mtime": os.stat(path).st_mtime, "qemu": data}

    def plan(self, desired, observed):
        path = desired["path"]
        plan = Plan(observed)
        if desired["state"] == "absent":
            plan.after = None
            if observed is not None:
                plan.step("remove image %s" % path, lambda: os.remove(path))
            return plan

        source = desired["source_info"]
        fmt = desired["format"] or (observed or {}).get("format") or (source or {}).get("format")
        if fmt is None:
            raise InputError("format", "required to create %s (one of %s)" % (path, ", ".join(FORMATS)))
        size = desired["size"]
        if size is None:
            size = (source or observed or {}).get("virtual_size")
        if size is None:
            raise InputError("size", "required to create an empty image %s (e.g. 10GiB)" % path)
        size = round_up(size, desired["align"])

        stale = source is not None and (observed is None or observed["mtime"] < source["mtime"])
        if observed is not None and not desired["force"] and not stale and observed["format"] == fmt \
                and desired["subformat"] in (None, observed["subformat"]) and observed["virtual_size"] == size:
            return plan  # up to date: left alone

        if observed is not None and size < observed["virtual_size"] and not desired["allow_shrink"] \
                and (source is None or size < source["virtual_size"]):
            raise InputError("size", "%s is smaller than the image's %s; shrinking loses the data at the end. "
                                     "Set allow_shrink=true if you mean it"
                                     % (format_size(size), format_size(observed["virtual_size"])))
        if source is not None and size < source["virtual_size"] and not desired["allow_shrink"]:
            raise InputError("size", "%s is smaller than the source's %s; set allow_shrink=true to cut it"
                                     % (format_size(size), format_size(source["virtual_size"])))

        subformat = None
        if fmt == "vpc":
            kept = observed["subformat"] if observed and observed["format"] == "vpc" else None
            subformat = desired["subformat"] or kept or "dynamic"
        plan.after = {"path": path, "format": fmt, "subformat": subformat, "virtual_size": size,
                      "actual_size": None, "mtime": None}
        if source is not None:
            what = "convert %s (%s) to %s" % (desired["source"], source["format"], path)
            plan.step("%s (%s, %s)" % (what, fmt, format_size(size)),
                      lambda: self._rebuild(desired["source"], source, path, fmt, subformat, size))
        elif observed is None:
            plan.step("create image %s (%s, %s)" % (path, fmt, format_size(size)),
                      lambda: write_new(path, lambda tmp: qemu_img.run("create", "-f", fmt, *_options(fmt, subformat),
                                                                       tmp, size)),
                      undo=lambda: os.remove(path))
        elif observed["format"] == fmt and fmt in RESIZABLE and not desired["force"]:
            shrink = ["--shrink"] if size < observed["virtual_size"] else []
            plan.step("resize image %s to %s" % (path, format_size(size)),
                      lambda: qemu_img.run("resize", "-f", fmt, *shrink, path, size))
        else:
            # a rewrite reads the image: an overlay's backing file would be copied into it
            qemu_img.refuse_outside(observed["qemu"], path, "path")
            plan.step("rewrite image %s as %s, %s" % (path, fmt, format_size(size)),
                      lambda: self._rebuild(path, observed, path, fmt, subformat, size))
        return plan

    @staticmethod
    def _rebuild(src, src_info, path, fmt, subformat, size):
        """Write the new image with `write_new`, so a failure leaves the old image (or nothing) in
        place. A size change goes through a raw copy, which every format converts from and
        qemu-img can resize."""
        raw = path + ".virtcloud-raw"
        src_fmt, virtual = src_info["format"], src_info["virtual_size"]
        try:
            if size != virtual:
                qemu_img.run("convert", "-f", src_fmt, "-O", "raw", src, raw)
                shrink = ["--shrink"] if size < virtual else []
                qemu_img.run("resize", "-f", "raw", *shrink, raw, size)
                src, src_fmt = raw, "raw"
            write_new(path, lambda tmp: qemu_img.run("convert", "-f", src_fmt, "-O", fmt, *_options(fmt, subformat),
                                                     src, tmp))
        finally:
            if os.path.exists(raw):
                os.remove(raw)

    def facts(self, state):
        if state is None:
            return None
        return {k: v for k, v in state.items() if k not in ("mtime", "qemu")}  # qemu: qemu-img info, for plan
