#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_network
short_description: Manage a libvirt virtual network (NAT, routed, open, isolated, bridged, Open vSwitch)
version_added: 0.1.0
description:
  - Defines, starts, updates, stops and removes one libvirt network so that it matches the spec.
  - The comparison is semantic, on the normalised persistent definition. Values libvirt generates
    (UUID, MAC address, the name of the bridge it creates) are kept and never regenerated.
  - Only options you set are compared; an option left out is not managed.
  - Changes libvirt can apply to a running network (O(dhcp_ranges), O(dhcp_hosts), O(dns_hosts),
    O(portgroups)) are applied live and to the persistent definition without restarting the network.
  - Any other change redefines the network; a running network keeps its old definition until it is
    restarted, which the module reports as RV(restart_required) (or does when O(restart=true)).
    When one run has both kinds of change, the whole new definition waits for the restart.
  - A subnet overlapping another libvirt network, or a missing host bridge, fails before anything is touched.
options:
  name:
    description:
      - Network name.
      - Not empty, without C(/) or a newline, at most 247 bytes (libvirt keeps the definition in a file named after it).
    type: str
    required: true
  state:
    description:
      - V(present) - the network is defined (and runs when O(active=true)).
      - V(absent) - the network is stopped and undefined.
    type: str
    default: present
    choices: [present, absent]
  forward:
    description:
      - V(nat) - guests reach outside through NAT on the host (libvirt's default network kind).
      - V(route) - routed to the host's networks without NAT.
      - V(open) - like V(route), but libvirt adds no firewall rules.
      - V(isolated) - host-only, no forwarding; guests talk to each other and to the host.
      - V(bridge) - guests are bridged onto an existing host bridge O(bridge) (Linux or, with
        O(openvswitch=true), Open vSwitch); addresses come from that bridge's network.
      - Defaults to V(nat) when the network is created.
    type: str
    choices: [nat, route, open, isolated, bridge]
  bridge:
    description:
      - With O(forward=bridge), the existing host bridge guests attach to (required then).
      - Otherwise the name of the bridge libvirt creates for the network; libvirt picks a free
        C(virbrN) when omitted, and that name is kept.
    type: str
  openvswitch:
    description:
      - The host bridge O(bridge) is an Open vSwitch bridge (C(<virtualport type='openvswitch'/>)).
      - Needed for VLAN tags on O(portgroups). Only with O(forward=bridge).
    type: bool
  address:
    description:
      - IPv4 address of the host on the network with its prefix length, for example V(198.18.5.1/24).
      - Required for O(forward=nat), V(route) and V(open), and for DHCP.
    type: str
  dhcp_ranges:
    description: DHCP address ranges inside the subnet of O(address); compared as a set, applied live.
    type: list
    elements: dict
    suboptions:
      start:
        description: First address of the range.
        type: str
        required: true
      end:
        description: Last address of the range.
        type: str
        required: true
  dhcp_hosts:
    description: Static DHCP leases; compared as a set, applied live.
    type: list
    elements: dict
    suboptions:
      mac:
        description: MAC address of the guest NIC. O(dhcp_hosts[].mac) or O(dhcp_hosts[].name) is required.
        type: str
      ip:
        description: Address the guest gets, inside the subnet of O(address).
        type: str
        required: true
      name:
        description: Host name given to the guest (letters, digits, C(-) and C(_), labels joined by dots).
        type: str
  dns_hosts:
    description: Host entries of the network's DNS server; compared as a set, applied live.
    type: list
    elements: dict
    suboptions:
      ip:
        description: Address the names resolve to.
        type: str
        required: true
      hostnames:
        description: Names of the address, host names like O(dhcp_hosts[].name).
        type: list
        elements: str
        required: true
  portgroups:
    description:
      - Port groups guests' interfaces can name (C(<source portgroup=...>)); compared as a set, applied live.
      - VLAN tags need O(openvswitch=true).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Port group name.
          - Without C(<), C(>), C(&) or quotes, which libvirt does not escape in its own XML.
        type: str
        required: true
      vlan:
        description: Access VLAN tag (1 to 4094); with O(portgroups[].trunk) it is the native (untagged) VLAN.
        type: int
      trunk:
        description: VLAN tags (1 to 4094) carried tagged (a trunk port).
        type: list
        elements: int
      default:
        description: Interfaces that name no port group use this one.
        type: bool
        default: false
  mtu:
    description: MTU of the network's bridge, 68 to 65535.
    type: int
  active:
    description: Whether the network runs.
    type: bool
    default: true
  autostart:
    description: Whether libvirtd starts the network at boot. Not managed when omitted.
    type: bool
  restart:
    description:
      - Restart a running network when its definition changed in a way that cannot be applied live,
        instead of reporting RV(restart_required).
      - A restart briefly disconnects guests attached to the network.
    type: bool
    default: false
  xml:
    description:
      - A C(<network>) definition of your own, for example one made with C(virsh net-dumpxml), managed as it is.
      - It is merged onto the stored definition and compared semantically, never as text. An element it
        gives that the stored one does not already contain replaces the stored element whole; lists of
        entries it gives (C(<ip>), C(<route>), C(<portgroup>), DHCP ranges and hosts, DNS hosts, TXT and SRV
        records, forwarders) are exactly its own. Elements it leaves out, such as the UUID, MAC address and
        bridge libvirt generated, are kept.
      - Options set as well (O(forward), O(address), O(dhcp_hosts), O(mtu), ...) are edited into it and win.
      - Changed DHCP ranges and hosts, DNS hosts and port groups are applied live like the options'; any other
        difference redefines the network (RV(restart_required), or a restart with O(restart=true)).
      - A C(<name>) in it must be O(name); a C(<uuid>) must be the network's.
    type: str
extends_documentation_fragment:
  - virtcloud.core.libvirt
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_libvirt
seealso:
  - module: virtcloud.core.libvirt_network_info
  - module: virtcloud.core.libvirt_domain
  - module: virtcloud.core.host_bridge
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: NAT network with DHCP, a fixed lease and a DNS entry
  virtcloud.core.libvirt_network:
    name: example-lab
    forward: nat
    address: 198.18.20.1/24
    dhcp_ranges:
      - {start: 198.18.20.100, end: 198.18.20.199}
    dhcp_hosts:
      - {mac: "52:54:00:20:00:10", ip: 198.18.20.10, name: db}
    dns_hosts:
      - {ip: 198.18.20.10, hostnames: [db, db.lab]}
    autostart: true

- name: Host-only network (no forwarding)
  virtcloud.core.libvirt_network:
    name: example-backend
    forward: isolated
    address: 198.18.21.1/24

- name: A Linux bridge on the host
  virtcloud.core.host_bridge:
    name: example-br0

- name: Bridge guests onto the host's bridge
  virtcloud.core.libvirt_network:
    name: example-lan
    forward: bridge
    bridge: example-br0

- name: An Open vSwitch bridge on the host
  virtcloud.core.host_bridge:
    name: example-ovsbr0
    type: ovs
    datapath_type: netdev

- name: Open vSwitch bridge with VLAN port groups
  virtcloud.core.libvirt_network:
    name: example-ovs
    forward: bridge
    bridge: example-ovsbr0
    openvswitch: true
    portgroups:
      - {name: vlan10, vlan: 10, default: true}
      - {name: trunk, trunk: [10, 20]}

- name: Change the MTU and restart the network right away
  virtcloud.core.libvirt_network:
    name: example-lab
    mtu: 9000
    restart: true

- name: A network defined by your own XML, kept as it is
  virtcloud.core.libvirt_network:
    name: example-labxml
    xml: |
      <network>
        <forward mode='nat'/>
        <dns>
          <forwarder addr='198.18.0.53'/>
        </dns>
        <ip address='198.18.22.1' netmask='255.255.255.0'>
          <dhcp>
            <range start='198.18.22.100' end='198.18.22.199'/>
            <host mac='52:54:00:22:00:10' name='db' ip='198.18.22.10'/>
          </dhcp>
        </ip>
      </network>

- name: Remove the networks
  virtcloud.core.libvirt_network:
    name: "{{ item }}"
    state: absent
  loop: [example-lab, example-backend, example-lan, example-ovs, example-labxml]

- name: Remove the host's bridges
  virtcloud.core.host_bridge:
    name: "{{ item.name }}"
    type: "{{ item.type }}"
    state: absent
  loop:
    - {name: example-br0, type: linux}
    - {name: example-ovsbr0, type: ovs}
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["define network lab", "start network lab"]
restart_required:
  description: The persistent definition changed and takes effect when the running network restarts.
  returned: when true
  type: bool
  sample: true
network:
  description: The network after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: "Network name.", type: str, returned: when present}
    uuid: {description: "UUID (null for a network still to be defined in check mode).", type: str, returned: when present}
    forward: {description: "Forward mode: nat, route, open, isolated or bridge.", type: str, returned: when present}
    bridge: {description: "Bridge name (generated by libvirt unless set).", type: str, returned: when present}
    openvswitch: {description: "Whether the bridge is an Open vSwitch bridge.", type: bool, returned: when present}
    address: {description: "IPv4 address/prefix of the host on the network.", type: str, returned: when present}
    dhcp_ranges: {description: "DHCP ranges (start, end).", type: list, elements: dict, returned: when present}
    dhcp_hosts: {description: "Static DHCP leases (mac, ip, name).", type: list, elements: dict, returned: when present}
    dns_hosts: {description: "DNS host entries (ip, hostnames).", type: list, elements: dict, returned: when present}
    portgroups: {description: "Port groups (name, vlan, trunk, default).", type: list, elements: dict, returned: when present}
    mtu: {description: "MTU, null when libvirt's default.", type: int, returned: when present}
    mac: {description: "MAC address of the bridge (generated by libvirt).", type: str, returned: when present}
    active: {description: "Whether the network runs.", type: bool, returned: when present}
    autostart: {description: "Whether the network starts at boot.", type: bool, returned: when present}
    persistent: {description: "Whether the network has a persistent definition.", type: bool, returned: when present}
    restart_pending:
      description: The running network still uses an older definition; a restart applies the new one.
      type: bool
      returned: when present
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.network import NetworkService


def main():
    run(NetworkService)


if __name__ == "__main__":
    main()
