# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Options and requirements shared by every host_* networking module."""

    DOCUMENTATION = r"""
options:
  ovsdb:
    description:
      - How to reach the Open vSwitch database for Open vSwitch objects - C(unix:PATH) or C(tcp:IP:PORT).
      - Default C(unix:/var/run/openvswitch/db.sock). Set it once for all host modules with C(module_defaults) and
        the action group C(group/virtcloud.core.host).
    type: str
requirements:
  - Linux (rtnetlink); no Python library beyond the standard library
  - Open vSwitch (C(ovsdb-server) and C(ovs-vswitchd) running) for Open vSwitch objects
notes:
  - Talks to the kernel through rtnetlink (its own small client on an AF_NETLINK socket) and to Open vSwitch through its database protocol (RFC 7047),
    never by parsing the output of C(ip), C(brctl) or C(ovs-vsctl).
  - Runs as root (C(become) on a remote host).
"""

    CHANGE = r"""
options:
  persist:
    description:
      - Also write the configuration the host's network tool applies at boot, so that the object survives a reboot.
      - V(none) changes the running kernel only. V(ifupdown) writes C(/etc/network/interfaces.d/virtcloud-NAME)
        (the host's C(/etc/network/interfaces) must C(source) that directory), V(networkd) writes C(.netdev) and
        C(.network) files to C(/etc/systemd/network), V(nm_keyfile) writes NetworkManager keyfiles to
        C(/etc/NetworkManager/system-connections) (reload NetworkManager to load them).
      - V(auto) picks the tool the host runs - NetworkManager, then systemd-networkd, then ifupdown - and fails when
        it finds none.
      - Files are rewritten only when their content changes; V(state=absent) removes the files this module wrote.
      - Open vSwitch objects need no persistence - their database survives a reboot.
    type: str
    default: none
    choices: [none, auto, ifupdown, networkd, nm_keyfile]
  persist_dir:
    description:
      - Directory for the files of O(persist), instead of the tool's standard directory.
    type: path
  force:
    description:
      - A change that would cut the connection Ansible uses - it removes the address the controller reached the host
        by, takes its interface (or a bridge or port it goes through) down, deletes it, or moves it into a bridge -
        is refused unless V(true).
      - The connection is the one of C(SSH_CONNECTION) - in the module's environment or, under C(become) (which
        resets the environment), in that of a process the module runs under. A local connection is never refused.
    type: bool
    default: false
"""
