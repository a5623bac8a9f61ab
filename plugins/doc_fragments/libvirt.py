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
      - When not set in the task, the environment variable E(LIBVIRT_DEFAULT_URI) of the managed host is used,
        then the default. Set it once for all libvirt modules with C(module_defaults) and the action group
        C(group/virtcloud.core.libvirt).
    type: str
    default: qemu:///system
requirements:
  - libvirt-python >= 9.0 on the managed host
notes:
  - Talks to libvirtd through libvirt-python, never by parsing C(virsh) output.
"""

    PERMISSIONS = r"""
options:
  owner:
    description:
      - Owner of the file (a volume) or directory (a pool's target), a user name known on the host or a
        numeric uid (libvirt stores the number).
      - Set when the volume is created or the pool built. Libvirt has no call to change them later, so an
        existing volume or pool directory gets them through chown/chmod on its path, for local V(dir), V(fs)
        and V(netfs) pools only, and the pool is refreshed (a pool's definition is updated too).
      - Not managed when omitted; the same for O(group), O(mode) and O(label).
    type: str
  group:
    description:
      - Group of the file or directory, a group name known on the host or a numeric gid. Applied like O(owner).
    type: str
  mode:
    description:
      - Permission bits of the file or directory, an octal string from V('0') to V('07777'), for example
        V('0640'). Quote it; an unquoted YAML V(0640) is read as an octal number and taken as that mode.
        Applied like O(owner).
    type: raw
  label:
    description:
      - SELinux label of the file or directory, for example V(system_u:object_r:svirt_image_t:s0). Applied
        like O(owner).
      - Only where libvirt's host has the SELinux security model (C(virsh capabilities)); elsewhere
        libvirt neither applies nor reports labels, and the option is refused.
    type: str
"""
