#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: libvirt_domains
short_description: Manage many libvirt guests in one task
version_added: 0.1.0
description:
  - Reconciles a list of guest specs in one task. Every item takes exactly the options of
    M(virtcloud.core.libvirt_domain) (except O(uri), which is shared) and is handled by the same code, so
    both modules behave the same; this one is much faster for many guests.
  - All items are validated and planned before anything is touched. One connection serves the
    whole list; the guests, their run states and autostart flags are read with three listing
    calls, before the changes and again after them.
  - Up to eight guests are changed at a time (defined, started, shut down, removed), each guest's
    own steps in order, so that for example graceful shutdowns of many guests wait side by side
    rather than one after another. Results and actions are reported in list order.
  - An item that fails rolls back its own steps and no item after it in the list is started. The
    items that were changed stay done (a rerun finishes the list); those before the failed one are
    always changed, and are returned in RV(results).
options:
  domains:
    description:
      - Guest specs. Each item is a dictionary of the options of M(virtcloud.core.libvirt_domain), for
        example C(name), C(memory), C(vcpus), C(disks), C(nics), C(xml), C(state).
    type: list
    elements: dict
    required: true
extends_documentation_fragment:
  - virtcloud.core.libvirt
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_libvirt
seealso:
  - module: virtcloud.core.libvirt_domain
  - module: virtcloud.core.libvirt_domain_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A directory pool to hold the volumes
  virtcloud.core.libvirt_pool:
    name: example-images
    path: /var/tmp/example-images

- name: A host-only network for the guests
  virtcloud.core.libvirt_network:
    name: example-lab
    forward: isolated
    address: 198.18.23.1/24

- name: Ten small guests on one network, defined in one task
  virtcloud.core.libvirt_domains:
    domains: "{{ nodes }}"
  vars:
    nodes: >-
      {% set out = [] %}{% for i in range(10) %}{% set x = out.append({'name': 'example-node%d' % i,
      'memory': '128MiB', 'vcpus': 1, 'nics': [{'network': 'example-lab'}], 'state': 'present'}) %}{% endfor %}{{ out }}

- name: Two guests spelled out
  virtcloud.core.libvirt_domains:
    domains:
      - name: example-db1
        memory: 256 MiB
        vcpus: 2
        disks:
          - pool: example-images
            volume: example-db1.qcow2
            size: 1GiB
        state: present
      - name: example-old1
        state: absent

- name: Remove them all, with their pool volumes
  virtcloud.core.libvirt_domains:
    domains: >-
      {% set out = [{'name': 'example-db1', 'state': 'absent', 'remove_storage': true}] %}{% for i in range(10) %}{%
      set x = out.append({'name': 'example-node%d' % i, 'state': 'absent'}) %}{% endfor %}{{ out }}

- name: Remove the network
  virtcloud.core.libvirt_network:
    name: example-lab
    state: absent

- name: Remove the pool and its directory
  virtcloud.core.libvirt_pool:
    name: example-images
    state: absent
    delete_data: true
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done) for all items, in order.
  returned: always
  type: list
  elements: str
restart_required:
  description: At least one guest has changes that take effect when it restarts.
  returned: when true
  type: bool
results:
  description:
    - One result per item, in order, each as M(virtcloud.core.libvirt_domain) returns it
      (C(changed), C(actions), C(domain), and C(restart_required) or C(diff) when applicable).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import run_batch
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import DomainService


def main():
    run_batch(DomainService, "domains")


if __name__ == "__main__":
    main()
