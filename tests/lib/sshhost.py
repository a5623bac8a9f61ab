"""A second "host" reachable over real SSH: a one-host test bed (tests/lib/netbed.py), i.e. a network
namespace behind a bridge running its own sshd (key auth only, on the namespace's address).

The namespace shares the filesystem, so a libvirt URI qemu+ssh://root@ADDRESS/system reaches this
machine's libvirtd through SSH and virt-ssh-helper, exactly as it would reach a remote host.

    with ssh_host("vcth1", 252) as host:
        host.address, host.keyfile, host.libvirt_uri()

Addresses: 198.18.<third>.254/24 on this side, 198.18.<third>.11 in the namespace. Everything made is
removed on exit, also on failure; the sshd is stopped by the pid it wrote.
"""

from __future__ import annotations

import contextlib
import tempfile

from lib.netbed import NetBed


class SshHost:
    def __init__(self, address, keyfile):
        self.address = address
        self.keyfile = keyfile

    def libvirt_uri(self, address=None):
        return ("qemu+ssh://root@%s/system?keyfile=%s&no_verify=1&no_tty=1"
                % (address or self.address, self.keyfile))


@contextlib.contextmanager
def ssh_host(name, third):
    """`name` (at most 12 lowercase letters and digits) prefixes the namespace, bridge and veth."""
    with tempfile.TemporaryDirectory(prefix="vct-ssh-") as state_dir:
        with NetBed(state_dir, hosts=1, name=name, subnet=third) as bed:
            yield SshHost(bed.hosts[0].address, bed.keyfile)
