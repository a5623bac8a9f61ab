# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection to libvirt through libvirt-python, shared by every libvirt module."""

from __future__ import annotations

from ansible.module_utils.basic import env_fallback

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Service
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    BackendUnavailable,
    InputError,
)

try:
    import libvirt

    LIBVIRT_IMPORT_ERROR = None
except ImportError as exc:  # reported by the engine before anything is touched
    libvirt = None
    LIBVIRT_IMPORT_ERROR = exc

CONNECTION = {
    "uri": Opt(default="qemu:///system", fallback=(env_fallback, ["LIBVIRT_DEFAULT_URI"])),
}


def listed(objects, read):
    """read(obj) for every object of a listing call, skipping those removed between the listing and
    the read (another task, another host): a listing is a snapshot, the objects in it may be gone."""
    out = []
    for obj in objects:
        try:
            out.append(read(obj))
        except libvirt.libvirtError as exc:
            if exc.get_error_code() not in _GONE:
                raise
    return out


_GONE = () if libvirt is None else (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_NO_NETWORK,
                                    libvirt.VIR_ERR_NO_STORAGE_POOL, libvirt.VIR_ERR_NO_STORAGE_VOL)

# lookup kind -> (connection method, libvirt error code meaning "no such object")
_LOOKUPS = {
    "domain": ("lookupByName", "VIR_ERR_NO_DOMAIN"),
    "network": ("networkLookupByName", "VIR_ERR_NO_NETWORK"),
    "pool": ("storagePoolLookupByName", "VIR_ERR_NO_STORAGE_POOL"),
}


# libvirt parses a guest's memory into bytes held in a signed 64-bit integer (and stores KiB)
MAX_MEMORY = 2 ** 63 - 1024
# QEMU's block layer opens no image larger than INT64_MAX rounded down to 1 GiB (BDRV_MAX_LENGTH);
# a qcow2 image with the default 64 KiB clusters addresses at most 2 PiB (its L1 table's limit)
MAX_VOLUME = {"qcow2": 2 ** 51, None: 2 ** 63 - 2 ** 30}


def _silence(_ctx, _err):
    """libvirt prints every error to stderr by default; we report them ourselves."""


class LibvirtService(Service):
    """Base of the libvirt services: the `uri` option, the connection, error translation."""

    connection = CONNECTION
    requirements = (("libvirt", "libvirt-python>=9.0", LIBVIRT_IMPORT_ERROR),)

    def connect(self):
        libvirt.registerErrorHandler(_silence, None)
        uri = self.params["uri"]
        try:
            self.conn = libvirt.open(uri)
        except libvirt.libvirtError as exc:
            raise BackendUnavailable(
                "cannot connect to libvirt at %s (uri): %s. Start the libvirt daemon on that host (for example "
                "systemctl start libvirtd, or virtqemud.socket where libvirt runs modular daemons) or correct uri"
                % (uri, exc.get_error_message()))

    def share_connection(self, other):
        self.conn = other.conn

    def translate(self, exc):
        if libvirt is not None and isinstance(exc, libvirt.libvirtError):
            return BackendError("libvirt: %s" % exc.get_error_message(),
                                libvirt_error_code=exc.get_error_code())
        return None

    @staticmethod
    def plan_autostart(plan, want, current, label, target):
        """Autostart of a domain, network or pool: one step when `want` (None: not managed)
        differs from `current`. `target()` gives the object at apply time, since an earlier step
        of the plan may only then define it. Returns the autostart the object will have."""
        if want is not None and want != current:
            plan.step("%s autostart of %s" % ("enable" if want else "disable", label),
                      lambda: target().setAutostart(int(want)))
        return current if want is None else want

    @staticmethod
    def check_name(name, option="name", limit=247):
        """A name libvirt will take, or an InputError before anything is touched (check mode
        included). libvirt refuses empty names and names holding '/' or a newline; the QEMU and
        Xen drivers keep every domain, network and pool in a file <name>.xml (written as
        <name>.xml.new), so a name has at most 247 bytes there. A volume of a directory pool is
        a file itself: 255 bytes."""
        if not name.strip():
            raise InputError(option, "must not be empty")
        if name in (".", ".."):
            # the QEMU driver makes directories named after a guest (snapshots, dumps, NVRAM): this
            # name would be their parent directory
            raise InputError(option, "%r: libvirt makes files and directories named after the object, and this "
                                     "name would point at their parent; choose another name" % name)
        for char, label in (("/", "'/'"), ("\n", "a newline")):
            if char in name:
                raise InputError(option, "%r: libvirt names cannot contain %s" % (name, label))
        size = len(name.encode("utf-8"))
        if size > limit:
            raise InputError(option, "is %d bytes long; libvirt stores it as a file name, which allows "
                                     "at most %d" % (size, limit))
        return name

    @classmethod
    def check_volume_name(cls, name, option="name"):
        """A storage volume's name: a file of its pool's directory, so also not '.' or '..' (libvirt
        takes them, then finds the directory itself in the way)."""
        if name in (".", ".."):
            raise InputError(option, "%r names the pool's directory, not a volume in it; choose a file name" % name)
        return cls.check_name(name, option, limit=255)

    @staticmethod
    def check_size(size, option, limit, what):
        """`size` (bytes) at most `limit`, the most the backend takes for `what`, or an InputError
        before anything is touched (libvirt and QEMU refuse more, but only when writing)."""
        from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size

        if size is not None and size > limit:
            raise InputError(option, "%s is more than %s takes (at most %s)" % (format_size(size), what, format_size(limit)))
        return size

    @classmethod
    def check_capacity(cls, size, fmt, option):
        """The size of a new volume of format `fmt`, at most what QEMU opens (see MAX_VOLUME)."""
        return cls.check_size(size, option, MAX_VOLUME.get(fmt, MAX_VOLUME[None]),
                              "a %s volume" % fmt if fmt in MAX_VOLUME else "QEMU's block layer")

    def lookup(self, kind, name):
        """The named domain / network / pool, or None when it does not exist."""
        method, missing = _LOOKUPS[kind]
        try:
            return getattr(self.conn, method)(name)
        except libvirt.libvirtError as exc:
            if exc.get_error_code() == getattr(libvirt, missing):
                return None
            raise
