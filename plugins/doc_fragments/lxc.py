# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options and requirements shared by every classic LXC module."""

    DOCUMENTATION = r"""
options:
  lxcpath:
    description:
      - Directory that holds the containers (C(lxc-create -P)); LXC's default (C(lxc.lxcpath), usually
        C(/var/lib/lxc)) when omitted.
      - Set it once for all classic LXC modules with C(module_defaults) and the action group
        C(group/virtcloud.core.lxc).
    type: path
requirements:
  - liblxc and its Python binding C(lxc) (PyPI C(lxc) >= 3.0.4, built against liblxc's headers - Debian C(lxc-dev))
    in the Python Ansible uses on the managed host
notes:
  - Talks to liblxc through its Python binding, never by parsing the output of the C(lxc-*) tools.
  - Runs as root (classic, privileged containers).
"""
