"""A second libvirt host on this machine, separate from this one's libvirtd: the destination of a
migration.

A one-host test bed (tests/lib/netbed.py) gives a network namespace on 198.18.<third>.0/24 with an
sshd. Inside that namespace, in a private mount namespace and UTS namespace of their own, run a
virtlogd, a libvirtd and the sshd (moved in there), with tmpfs over every directory libvirt keeps
state, configuration, sockets or logs in (RUN_DIRS): the host's libvirt configuration is copied in
(no guests, networks or pools: the new host has none), with a fresh host UUID, no cgroup controllers
and its own host name. `qemu+ssh://root@ADDRESS/system` then reaches that libvirtd, not this
machine's, through SSH and virt-ssh-helper, exactly as it would reach a remote host. The rest of the
filesystem is shared: a path outside RUN_DIRS is shared storage, a path under /var/lib/libvirt
is each host's own.

    with libvirt_host("vcmig1") as host:
        host.uri, host.address, host.gateway, host.run("qemu-img", "create", ...)   # run: in its view

On exit the guests of that libvirtd are destroyed, the daemons and the sshd stopped by their pids,
and the bed removed; the mounts vanish with the mount namespace, whose last process is gone.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
import uuid

from lib.netbed import BedError, NetBed, alive, run, sshd_pid, start_sshd, stop_pids
from lib.sshhost import SshHost

RUN_DIRS = ("/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt", "/var/log/libvirt", "/etc/libvirt")
CONFIG = ("libvirt.conf", "qemu.conf", "libvirt-admin.conf")
# run by `unshare -m -u` inside the bed's network namespace: $1 the state dir, $2 the host name, $3 the host UUID
SETUP = r"""
set -eu
state=$1
mkdir -p "$state/etc"
for f in %(config)s; do if [ -e /etc/libvirt/$f ]; then cp /etc/libvirt/$f "$state/etc/"; fi; done
# QEMU's capabilities as this machine's libvirtd probed them: a fresh probe takes seconds
if [ -d /var/cache/libvirt/qemu/capabilities ]; then cp -r /var/cache/libvirt/qemu/capabilities "$state/"; fi
for d in %(dirs)s; do mkdir -p $d; mount -t tmpfs -o mode=0755 vctlibvirthost $d; done
cp "$state"/etc/* /etc/libvirt/
printf 'host_uuid = "%%s"\n' "$3" >/etc/libvirt/libvirtd.conf
printf '\ncgroup_controllers = [ ]\n' >>/etc/libvirt/qemu.conf
mkdir -p /var/lib/libvirt/qemu /var/cache/libvirt/qemu /var/log/libvirt/qemu /run/libvirt/qemu
if [ -d "$state/capabilities" ]; then cp -r "$state/capabilities" /var/cache/libvirt/qemu/; fi
hostname "$2"
/usr/sbin/virtlogd --daemon --pid-file "$state/virtlogd.pid"
/usr/sbin/libvirtd --daemon --pid-file "$state/libvirtd.pid"
""" % {"config": " ".join(CONFIG), "dirs": " ".join(RUN_DIRS)}


class LibvirtHost(SshHost):
    def __init__(self, bed, state_dir):
        host = bed.hosts[0]
        super().__init__(host.address, bed.keyfile)
        self.hostname = bed.name + "-h2"
        self.host_uuid = str(uuid.uuid4())
        self.uri = self.libvirt_uri()
        self.gateway = bed.gateway  # this machine's address on the bed: where the host reaches it
        self._bed, self._host, self._state = bed, host, state_dir

    def pidfile(self, daemon):
        return os.path.join(self._state, daemon + ".pid")

    def pid(self, daemon):
        """The pid of our `daemon` (libvirtd, virtlogd) when it still runs with our pidfile, else None."""
        try:
            with open(self.pidfile(daemon)) as handle:
                pid = int(handle.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as handle:
                cmdline = handle.read().decode(errors="replace").split("\0")
        except (OSError, ValueError):
            return None
        return pid if self.pidfile(daemon) in cmdline and alive(pid) else None

    def enter(self):
        """The command prefix that runs a command on this host: its network, mount and UTS namespaces."""
        pid = self.pid("libvirtd")
        if pid is None:
            raise BedError("the second libvirtd (%s) does not run" % self.pidfile("libvirtd"))
        return ("nsenter", "-t", str(pid), "-n", "-m", "-u")

    def run(self, *argv, check=True, timeout=60):
        """`argv` on this host (its own /var/lib/libvirt, ...)."""
        return run(*self.enter(), *argv, check=check, timeout=timeout)

    def start(self, timeout=30):
        # the bed's sshd runs in this machine's mount namespace: it would reach this libvirtd
        stop_pids([pid for pid in [sshd_pid(self._host.pidfile)] if pid])
        run("ip", "netns", "exec", self._host.netns, "unshare", "-m", "-u", "--propagation", "private",
            "sh", "-c", SETUP, "setup", self._state, self.hostname, self.host_uuid)
        deadline = time.monotonic() + timeout
        while not os.path.exists(os.path.join("/proc", str(self.pid("libvirtd") or 0), "root/run/libvirt/libvirt-sock")):
            if time.monotonic() > deadline:
                raise BedError("the second libvirtd did not make its socket within %ss" % timeout)
            time.sleep(0.05)
        # the same pidfile as the bed's: its down() stops this sshd too
        start_sshd(self._host.netns, self.address, self._bed.state_dir, self._host.pidfile, enter=self.enter())
        while subprocess.run(["virsh", "-c", self.uri, "hostname"], capture_output=True, check=False,
                             timeout=30).returncode:
            if time.monotonic() > deadline:
                raise BedError("%s does not answer within %ss" % (self.uri, timeout))
            time.sleep(0.2)

    def stop(self):
        """Destroy this host's guests, stop its daemons (by pid) and what they left running."""
        if self.pid("libvirtd"):
            listing = self.run("virsh", "-c", "qemu:///system", "list", "--name", check=False, timeout=30)
            for name in listing.stdout.split():
                self.run("virsh", "-c", "qemu:///system", "destroy", name, check=False, timeout=30)
        stop_pids([pid for pid in (self.pid("libvirtd"), self.pid("virtlogd")) if pid])


@contextlib.contextmanager
def libvirt_host(name, third=None):
    """`name` (at most 12 lowercase letters and digits) prefixes the namespace, bridge and veth;
    `third`: the bed's 198.18.<third>.0/24 (default the first free one)."""
    with tempfile.TemporaryDirectory(prefix="vct-libvirt-host-") as state_dir:
        with NetBed(state_dir, hosts=1, name=name, subnet=third) as bed:
            host = LibvirtHost(bed, state_dir)
            try:
                host.start()
                yield host
            finally:
                host.stop()
