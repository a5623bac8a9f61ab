"""A busybox LXD image built offline (no image server is reachable here): a split image, metadata
tarball + rootfs tarball, whose init stops at once on LXD's stop signal (SIGPWR)."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import time

INIT = b"""#!/bin/sh
# virtcloud test init: mount what busybox tools need, then idle until LXD asks us to stop
mount -t proc proc /proc 2>/dev/null
trap 'exit 0' PWR TERM USR1
echo VIRTCLOUD-LXD-UP > /run/virtcloud-up 2>/dev/null
while :; do sleep 1 & wait $!; done
"""

APPLETS = ("sh", "sleep", "cat", "echo", "ls", "mount", "ip", "ifconfig", "udhcpc", "hostname", "ps", "wc",
           "mkdir", "touch", "rm", "true", "false", "env", "grep", "ping")


def _add(tar, name, data=None, mode=0o644, kind=tarfile.REGTYPE, link=None):
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.mtime = 1700000000
    info.type = kind
    if link is not None:
        info.linkname = link
    if data is not None:
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    else:
        tar.addfile(info)


def build_busybox_image(directory, description="virtcloud busybox"):
    """Write meta.tar.gz and rootfs.tar.gz under `directory`; return their paths."""
    os.makedirs(directory, exist_ok=True)
    meta = os.path.join(directory, "meta.tar.gz")
    rootfs = os.path.join(directory, "rootfs.tar.gz")
    metadata = {
        "architecture": os.uname().machine,
        "creation_date": 1700000000,
        "properties": {"description": description, "os": "busybox", "release": "test"},
        "templates": {},
    }
    with tarfile.open(meta, "w:gz") as tar:
        _add(tar, "metadata.yaml", json.dumps(metadata).encode())  # JSON is YAML
    busybox = shutil.which("busybox") or "/bin/busybox"
    with open(busybox, "rb") as handle:
        binary = handle.read()
    with tarfile.open(rootfs, "w:gz") as tar:
        for name in ("bin", "sbin", "etc", "proc", "sys", "dev", "run", "tmp", "root", "var"):
            _add(tar, name, kind=tarfile.DIRTYPE, mode=0o755)
        _add(tar, "bin/busybox", binary, mode=0o755)
        for applet in APPLETS:
            _add(tar, "bin/" + applet, kind=tarfile.SYMTYPE, link="busybox", mode=0o777)
        _add(tar, "sbin/init", INIT, mode=0o755)
        _add(tar, "etc/hostname", b"busybox\n")
        _add(tar, "etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
        _add(tar, "etc/group", b"root:x:0:\n")
    return meta, rootfs


def lxc(*args, check=True, timeout=120):
    """The LXD CLI (the independent verification path), JSON where it has it."""
    proc = subprocess.run(("lxc",) + args, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError("lxc %s failed (%s): %s" % (" ".join(args), proc.returncode, proc.stderr))
    return proc


def lxc_json(*args):
    return json.loads(lxc(*(args + ("--format", "json"))).stdout)


def import_image(directory, alias):
    """Import the busybox image under `alias` (replacing an older one); return its fingerprint."""
    meta, rootfs = build_busybox_image(directory)
    lxc("image", "delete", alias, check=False)
    lxc("image", "import", meta, rootfs, "--alias", alias)
    return image_fingerprint(alias)


def image_fingerprint(alias):
    for image in lxc_json("image", "list"):
        if any(a["name"] == alias for a in image.get("aliases") or []):
            return image["fingerprint"]
    return None


def wait_gone(kind, name, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if lxc(kind, "show", name, check=False).returncode != 0:
            return True
        time.sleep(0.2)
    return False
