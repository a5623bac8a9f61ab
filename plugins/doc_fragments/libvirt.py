# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection option and requirements shared by every libvirt module."""

    DOCUMENTATION = r"""
options:
  uri:
    description:
      - libvirt connection URI, for example V(qemu:///system), V(qemu:///session),
        V(xen:///system), V(qemu+ssh://root@host/system) or V(test:///default).
      - A remote URI is opened from the managed host, with its SSH client and keys; libvirt's
        own parameters choose them, for example
        V(qemu+ssh://root@kvm2/system?keyfile=/root/.ssh/id_ed25519&no_tty=1).
        A host that does not answer fails the task with one message naming O(uri).
      - Defaults to C(LIBVIRT_DEFAULT_URI) when that is set. Set it once for all libvirt modules
        with C(module_defaults) and the action group C(group/virtcloud.core.libvirt).
    type: str
    default: qemu:///system
requirements:
  - libvirt-python >= 9.0 on the managed host
notes:
  - Talks to libvirtd through libvirt-python, never by parsing C(virsh) output.
"""
