"""Write the demo's OVA: the tiny test guest (tests/lib/guest.py) as a VMware-style appliance.

    python scripts/demo_ova.py /var/tmp/virtcloud-demo/tiny.ova [--network "VM Network"] [--name tiny]

The disk is a 32 MiB BIOS-bootable disk (syslinux, the Debian cloud kernel, a busybox initramfs whose
init prints VIRTCLOUD-GUEST-UP on ttyS0), packed the way VMware's ovftool writes an OVA: OVF 1.0 with
the vmw: namespace, an LSI Logic SCSI disk, a VMXNET3 NIC on NETWORK, a SHA256 manifest second.

It reuses the fixture builder of the tests (tests/lib/ova.py, no pytest needed); the boot disk is built
once per machine and cached under /var/tmp/virtcloud-test-assets (it downloads the kernel package with
apt-get download). Idempotent: an OVA already at DEST whose members match its manifest is left alone
("unchanged"); otherwise it is written under a temporary name and renamed into place ("built").
Needs lxml, qemu-img, syslinux, mtools, dosfstools, busybox-static, cpio (scripts/host.sh packages).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import sys
import tarfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from ova import build_ova  # noqa: E402  pylint: disable=wrong-import-position,import-error

MANIFEST_LINE = re.compile(r"^(SHA1|SHA256|SHA512) ?\((.+)\) ?= ?([0-9a-fA-F]+)$")


def valid(path):
    """True when PATH is a tar whose first member is an .ovf and whose manifest matches every member."""
    try:
        with tarfile.open(path) as tar:
            members = tar.getmembers()
            if not members or not members[0].name.endswith(".ovf"):
                return False
            files = {m.name: m for m in members if m.isfile()}
            mf = next((m for m in members if m.name.endswith(".mf")), None)
            if mf is None:
                return False
            listed = set()
            for line in tar.extractfile(mf).read().decode().splitlines():
                match = MANIFEST_LINE.match(line.strip())
                if not match or match.group(2) not in files:
                    return False
                algorithm, name, digest = match.groups()
                hasher = hashlib.new(algorithm.lower())
                handle = tar.extractfile(files[name])
                for block in iter(lambda: handle.read(1 << 20), b""):
                    hasher.update(block)
                if hasher.hexdigest() != digest.lower():
                    return False
                listed.add(name)
            return listed == set(files) - {mf.name}
    except (OSError, tarfile.TarError, UnicodeDecodeError, ValueError):
        return False


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dest", help="path of the .ova to write")
    parser.add_argument("--network", default="VM Network", help="the OVF network of the NIC (default: %(default)s)")
    parser.add_argument("--name", default="tiny", help="the OVF's virtual system name (default: %(default)s)")
    args = parser.parse_args(argv)
    if os.path.exists(args.dest) and valid(args.dest):
        print("unchanged %s" % args.dest)
        return 0
    os.makedirs(os.path.dirname(os.path.abspath(args.dest)), exist_ok=True)
    build_ova(args.dest, flavour="vmware", name=args.name, nics=[{"network": args.network, "model": "vmxnet3"}])
    os.chmod(args.dest, 0o644)
    print("built %s" % args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
