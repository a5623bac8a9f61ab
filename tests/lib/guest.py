"""Boot assets for a tiny test guest: a Debian cloud kernel and a busybox initramfs.

The guest boots by direct kernel boot in a few seconds under TCG (``virt_type: qemu``) and writes to
its serial console (ttyS0):

- ``GUEST_MARKER`` once userspace runs;
- every second a line ``VCT-DEVICES block=vda,vdb, net=eth0,lo,`` listing /sys/block and
  /sys/class/net, so a test sees live-attached disks and NICs appear;
- ``VCT-LEASE <nic> <ip>`` for each NIC that got (and configured) a DHCP lease; every NIC,
  hot-plugged ones too, asks once.

Run states a test can make the guest get into by itself, switched on by its kernel command line:

- ``vct.suspend``: once userspace runs, the guest suspends itself to RAM (S3; the domain needs
  ``<pm><suspend-to-mem enabled='yes'/></pm>``), so libvirt reports it pmsuspended. Woken up, it
  prints ``VCT-RESUMED`` and goes on as usual.
- ``unknown_nmi_panic`` (a kernel parameter): an NMI (``virsh inject-nmi``) panics the kernel, and
  the pvpanic driver tells QEMU (the domain needs ``<panic model='isa'/>``); with
  ``<on_crash>preserve</on_crash>`` libvirt keeps the guest, crashed. Only on demand, so the same
  guest started again runs normally.

The virtio and ACPI button modules are loaded by the init (they are modules in Debian's cloud kernel), so
hot-plugged virtio disks and NICs show up without udev, and an
ACPI power button press (graceful shutdown) powers the guest off.

Assets are cached under ``ASSET_DIR`` and built once per machine, in a directory named after a hash
of what goes into them (kernel package, modules, init): a changed recipe builds anew, and never uses
an older build. Concurrent builders are serialised by a lock file and publish atomically (rename),
so parallel test runs are safe.

    from lib.guest import guest_assets
    kernel, initrd = guest_assets()
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import shutil
import subprocess
import tempfile

ASSET_DIR = os.environ.get("VIRTCLOUD_TEST_ASSETS", "/var/tmp/virtcloud-test-assets")
GUEST_MARKER = "VIRTCLOUD-GUEST-UP"
KERNEL_PACKAGE = "linux-image-cloud-amd64"

# Load order matters: dependencies first (modinfo -F depends).
MODULES = [
    "drivers/virtio/virtio_ring.ko",
    "drivers/virtio/virtio.ko",
    "drivers/virtio/virtio_pci_modern_dev.ko",
    "drivers/virtio/virtio_pci_legacy_dev.ko",
    "drivers/virtio/virtio_pci.ko",
    "drivers/block/virtio_blk.ko",
    "net/core/failover.ko",
    "drivers/net/net_failover.ko",
    "drivers/net/virtio_net.ko",
    "drivers/input/evdev.ko",    # the ACPI power button reaches acpid through evdev
    "drivers/acpi/button.ko",
    "drivers/misc/pvpanic/pvpanic.ko",       # a kernel panic tells QEMU (the guest's <panic model='isa'/>)
    "drivers/misc/pvpanic/pvpanic-mmio.ko",
    "drivers/cdrom/cdrom.ko",    # isofs needs it, also on a disk
    "fs/isofs/isofs.ko",         # the NoCloud seed (an ISO 9660 image labelled cidata)
]

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
for m in %(modules)s; do insmod /modules/$m 2>/dev/null; done
# A graceful shutdown (ACPI power button) powers the guest off, so tests can exercise it.
mkdir -p /etc/acpi/PWRF
printf '#!/bin/sh\necho VCT-POWEROFF\npoweroff -f\n' > /etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
acpid -c /etc/acpi -l /dev/null
echo %(marker)s
# A NoCloud seed (libvirt_domain's cloud_init, on a virtio disk): apply its hostname and ssh keys and
# print what it said, once. A line parser of the JSON-style YAML the module writes is enough here. The
# seed is the disk whose ISO 9660 volume label (at byte 32808) is "cidata" (Debian's busybox findfs
# does not read ISO labels); tried at start and then every second of the first few in the loop below,
# as a disk may show up a moment after virtio_blk is loaded.
tries=0
seed() {
  [ -e /tmp/seeded ] || [ $tries -ge 5 ] && return
  tries=$((tries + 1))
  for d in $(ls /sys/block); do
    [ "$(dd if=/dev/$d bs=1 skip=32808 count=6 2>/dev/null)" = cidata ] || continue
    touch /tmp/seeded
    mkdir -p /seed /root/.ssh
    mount -t iso9660 -o ro /dev/$d /seed || { echo "VCT-SEED-ERROR mount /dev/$d"; return; }
    name=$(sed -n 's/^ *"local-hostname": "\\([^"]*\\)".*/\\1/p' /seed/meta-data)
    [ -n "$name" ] && hostname "$name" && echo "VCT-HOSTNAME $(hostname)"
    sed -n '/"ssh_authorized_keys": \\[/,/\\]/s/^ *"\\(ssh-[^"]*\\)",*$/\\1/p' /seed/user-data > /root/.ssh/authorized_keys
    [ -s /root/.ssh/authorized_keys ] && echo "VCT-SSHKEY $(head -n1 /root/.ssh/authorized_keys | awk '{print $3}')"
    sed -n 's/^ *"vct_marker": "\\([^"]*\\)".*/VCT-MARKER \\1/p' /seed/user-data
    return
  done
}
seed
if grep -qw vct.suspend /proc/cmdline; then
  # suspend to RAM (S3) once; the guest goes on here when it is woken up
  echo mem > /sys/power/state
  echo VCT-RESUMED
fi
printf '#!/bin/sh\n[ "$1" = bound ] && echo "VCT-LEASE $interface $ip" >/dev/console && ip addr add $ip/$mask dev $interface\nexit 0\n' > /bin/lease.sh
chmod +x /bin/lease.sh
while true; do
  seed
  # ask once for a DHCP lease on every NIC that appears (also hot-plugged ones); a lease is
  # configured and printed as "VCT-LEASE <nic> <ip>"
  for nic in $(ls /sys/class/net); do
    [ "$nic" = lo ] || [ -e /tmp/dhcp-$nic ] && continue
    touch /tmp/dhcp-$nic
    ip link set $nic up
    (udhcpc -i $nic -t 30 -T 1 -n -q -s /bin/lease.sh >/dev/null 2>&1 &)
  done
  echo "VCT-DEVICES block=$(ls /sys/block | tr '\\n' ,) net=$(ls /sys/class/net | tr '\\n' ,)"
  sleep 1
done
"""


def _run(argv, cwd=None, **kw):
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True, **kw)


def _kernel_deb(work):
    depends = subprocess.run(["apt-cache", "depends", KERNEL_PACKAGE], capture_output=True, text=True,
                             check=True).stdout
    package = next(line.split()[1] for line in depends.splitlines()
                   if line.strip().startswith("Depends: linux-image-"))
    _run(["apt-get", "download", package], cwd=work)
    return glob.glob(os.path.join(work, "*.deb"))[0]


def _build(target):
    work = tempfile.mkdtemp(prefix="vct-assets-")
    try:
        tree = os.path.join(work, "x")
        _run(["dpkg-deb", "-x", _kernel_deb(work), tree])
        vmlinuz = glob.glob(os.path.join(tree, "boot", "vmlinuz-*"))[0]
        moddir = glob.glob(os.path.join(tree, "lib", "modules", "*", "kernel"))[0]

        root = os.path.join(work, "root")
        for sub in ("bin", "proc", "sys", "dev", "modules", "etc", "tmp"):
            os.makedirs(os.path.join(root, sub))
        shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
        names = []
        for module in MODULES:
            shutil.copy(os.path.join(moddir, module), os.path.join(root, "modules"))
            names.append(os.path.basename(module))
        with open(os.path.join(root, "init"), "w") as handle:
            handle.write(INIT % {"modules": " ".join(names), "marker": GUEST_MARKER})
        os.chmod(os.path.join(root, "init"), 0o755)
        files = subprocess.run("find . | cpio -o -H newc --quiet | gzip -1", shell=True, cwd=root,
                               check=True, capture_output=True).stdout
        os.makedirs(target)
        shutil.copy(vmlinuz, os.path.join(target, "vmlinuz"))
        with open(os.path.join(target, "initrd.gz"), "wb") as handle:
            handle.write(files)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def guest_assets():
    """(kernel path, initrd path), building them on first use."""
    recipe = "\n".join([KERNEL_PACKAGE, *MODULES, INIT])
    final = os.path.join(ASSET_DIR, "guest-" + hashlib.sha256(recipe.encode()).hexdigest()[:12])
    kernel, initrd = os.path.join(final, "vmlinuz"), os.path.join(final, "initrd.gz")
    if os.path.exists(initrd):
        return kernel, initrd
    os.makedirs(ASSET_DIR, exist_ok=True)
    with open(os.path.join(ASSET_DIR, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(initrd):
            staging = tempfile.mkdtemp(prefix=".guest-", dir=ASSET_DIR)
            os.rmdir(staging)
            _build(staging)
            os.rename(staging, final)
    return kernel, initrd


if __name__ == "__main__":
    print(*guest_assets())
