#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_domain_info
short_description: Facts about libvirt guests
version_added: 0.1.0
description:
  - Returns every libvirt guest (or those matching the filters), parsed into data - run state, vCPUs,
    memory, disks with capacity and allocation, NICs with MAC, network or bridge and IP addresses,
    graphics consoles, autostart. The guests, their run states and autostart flags come from three
    bulk listing calls; each guest's definition is then read once.
  - Running guests are described by their live definition (real VNC/SPICE ports, hot-plugged devices).
  - IP addresses come from libvirt's DHCP leases (guests on libvirt networks) and, for guests with
    the guest agent channel, from the QEMU guest agent when it answers.
options:
  name:
    description: Only these guests (names). All guests when omitted.
    type: list
    elements: str
  state:
    description:
      - Only guests in one of these run states. V(crashed) - its kernel panicked and libvirt kept it
        (C(<on_crash>preserve</on_crash>)). V(pmsuspended) - it suspended itself to RAM (S3).
    type: list
    elements: str
    choices: [running, paused, shutdown, crashed, pmsuspended]
  xml:
    description:
      - Also return each guest's domain XML, as libvirt gives it, in RV(domains[].xml).
      - V(inactive) - the persistent definition (what the guest gets when it is next started, what
        M(virtcloud.core.libvirt_domain) compares with). V(live) - the definition of the running guest
        (real VNC/SPICE ports, hot-plugged devices); for a guest that is not running, its definition.
      - Graphics passwords are never included (libvirt leaves them out unless it is asked for secure
        details, which this module never does).
      - Omitted, no XML is returned.
    type: str
    choices: [inactive, live]
extends_documentation_fragment:
  - virtcloud.core.libvirt
  - virtcloud.core.attributes.info
  - virtcloud.core.attributes.group_libvirt
seealso:
  - module: virtcloud.core.libvirt_domain
  - module: virtcloud.core.libvirt_domains
  - module: virtcloud.core.libvirt_network_info
  - module: virtcloud.core.libvirt_storage_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A guest to look at (defined, not booted)
  virtcloud.core.libvirt_domain:
    name: example-web1
    memory: 256MiB
    graphics: {type: vnc, listen: 127.0.0.1}

- name: All running guests
  virtcloud.core.libvirt_domain_info:
    state: [running]
  register: running

- name: Show the VNC port and addresses of the guest
  virtcloud.core.libvirt_domain_info:
    name: [example-web1]
  register: web1

- name: Print them
  ansible.builtin.debug:
    msg: "VNC {{ web1.domains[0].graphics[0].port }}, IPs {{ web1.domains[0].nics | map(attribute='addresses') | flatten }}"

- name: Keep a copy of its definition
  virtcloud.core.libvirt_domain_info:
    name: [example-web1]
    xml: inactive
  register: web1_def

- name: Write it to a file
  ansible.builtin.copy:
    content: "{{ web1_def.domains[0].xml }}"
    dest: /var/tmp/example-web1.xml
    mode: "0600"
  when: web1_def.domains | length > 0

- name: Guests whose kernel panicked (kept by on_crash=preserve) or that suspended themselves
  virtcloud.core.libvirt_domain_info:
    state: [crashed, pmsuspended]
  register: stuck

- name: Remove the guest and the copy
  virtcloud.core.libvirt_domain:
    name: example-web1
    state: absent

- name: Remove the copy
  ansible.builtin.file:
    path: /var/tmp/example-web1.xml
    state: absent
"""

RETURN = r"""
changed:
  description: Always false.
  returned: always
  type: bool
actions:
  description: Always empty.
  returned: always
  type: list
  elements: str
domains:
  description: The guests, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: Guest name., type: str}
    uuid: {description: UUID., type: str}
    id: {description: Hypervisor ID of a running guest; null when shut off., type: int}
    state: {description: "running, paused, shutdown, crashed or pmsuspended (see O(state)).", type: str}
    persistent: {description: Whether the guest has a persistent definition., type: bool}
    autostart: {description: Whether libvirtd starts the guest., type: bool}
    title: {description: Title., type: str}
    description: {description: Description., type: str}
    virt_type: {description: "Hypervisor type (kvm, qemu, xen).", type: str}
    os_type: {description: "hvm, or xen for a Xen PV guest.", type: str}
    arch: {description: Architecture., type: str}
    machine: {description: Machine type., type: str}
    firmware: {description: bios or uefi., type: str}
    vcpus: {description: Number of vCPUs (plugged)., type: int}
    max_vcpus: {description: Maximum number of vCPUs., type: int}
    cpu_mode: {description: CPU mode., type: str}
    memory: {description: Maximum memory., type: str, sample: 1 GiB}
    memory_bytes: {description: Maximum memory in bytes., type: int}
    current_memory: {description: Current memory., type: str}
    current_memory_bytes: {description: Current memory in bytes., type: int}
    boot: {description: Boot order., type: list, elements: str}
    kernel: {description: Direct boot kernel., type: str}
    initrd: {description: Direct boot initrd., type: str}
    cmdline: {description: Direct boot kernel command line., type: str}
    disks:
      description: Disks (target, bus, device, type, path, pool, volume, format, cache, readonly, capacity and allocation in bytes).
      type: list
      elements: dict
    nics:
      description: NICs (type, mac, network, bridge, source, vlan, model, addresses as C(address/prefix)).
      type: list
      elements: dict
    graphics:
      description: Graphical consoles (type, listen, port, password_set).
      type: list
      elements: dict
    serial:
      description: Serial ports (type, path).
      type: list
      elements: dict
    guest_agent: {description: Whether the guest agent channel is present., type: bool}
    xml:
      description: The domain XML (see O(xml)), without graphics passwords.
      type: str
      returned: when O(xml) is set
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain_info import DomainInfoService


def main():
    run(DomainInfoService)


if __name__ == "__main__":
    main()
