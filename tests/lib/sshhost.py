"""A second "host" reachable over real SSH: a network namespace joined to this one by a veth pair,
running its own sshd (key auth only, on the namespace's address, pidfile kept).

The namespace shares the filesystem, so a libvirt URI qemu+ssh://root@ADDRESS/system reaches this
machine's libvirtd through SSH and virt-ssh-helper, exactly as it would reach a remote host.

    with ssh_host("vcth1", 252) as host:
        host.address, host.keyfile, host.libvirt_uri()

Addresses: 198.18.<third>.1/30 on this side, .2 in the namespace. Everything made is removed on
exit, also on failure; the sshd is stopped by the pid it wrote.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time


def _run(*argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


class SshHost:
    def __init__(self, name, third, workdir):
        self.name = name
        self.address = "198.18.%d.2" % third
        self.keyfile = os.path.join(workdir, "id")

    def libvirt_uri(self, address=None):
        return ("qemu+ssh://root@%s/system?keyfile=%s&no_verify=1&no_tty=1"
                % (address or self.address, self.keyfile))


@contextlib.contextmanager
def ssh_host(name, third):
    """`name` (at most 12 characters) names the namespace and the veth ends."""
    outer, inner = name + "a", name + "b"
    with tempfile.TemporaryDirectory(prefix="vct-ssh-") as workdir:
        pidfile = os.path.join(workdir, "sshd.pid")
        try:
            _run("ip", "netns", "add", name)
            _run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            _run("ip", "link", "set", inner, "netns", name)
            _run("ip", "addr", "add", "198.18.%d.1/30" % third, "dev", outer)
            _run("ip", "link", "set", outer, "up")
            for argv in (("ip", "addr", "add", "198.18.%d.2/30" % third, "dev", inner),
                         ("ip", "link", "set", inner, "up"), ("ip", "link", "set", "lo", "up")):
                _run("ip", "netns", "exec", name, *argv)
            host = SshHost(name, third, workdir)
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", host.keyfile)
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(workdir, "hostkey"))
            os.rename(host.keyfile + ".pub", os.path.join(workdir, "authorized_keys"))
            os.makedirs("/run/sshd", exist_ok=True)
            _run("ip", "netns", "exec", name, "/usr/sbin/sshd", "-o", "ListenAddress=" + host.address,
                 "-o", "PidFile=" + pidfile, "-o", "HostKey=" + os.path.join(workdir, "hostkey"),
                 "-o", "AuthorizedKeysFile=" + os.path.join(workdir, "authorized_keys"),
                 "-o", "PermitRootLogin=prohibit-password", "-o", "PasswordAuthentication=no",
                 "-o", "StrictModes=no")
            deadline = time.monotonic() + 10
            while not os.path.exists(pidfile) and time.monotonic() < deadline:
                time.sleep(0.05)
            yield host
        finally:
            with contextlib.suppress(OSError, ValueError):
                with open(pidfile) as handle:
                    os.kill(int(handle.read().strip()), signal.SIGTERM)
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
            subprocess.run(["ip", "link", "del", outer], capture_output=True, check=False)
