#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lxd_instances
short_description: Manage many LXD instances in one task
version_added: 0.1.0
description:
  - Reconciles a list of LXD instances in one task. Every item takes exactly the options of
    M(virtcloud.core.lxd_instance) (except the connection options, which are shared) and is handled
    by the same code, so both modules behave the same; this one is much faster for many instances.
  - All items are validated, observed and planned before anything is touched - a bad item (an
    unknown image or profile, a config key LXD does not know) fails the task with nothing changed.
  - One connection serves the whole list. The instances - config, devices, profiles, run state of
    every one - are read with one listing call (C(GET /1.0/instances?recursion=1)), plus one listing of
    the profiles and one of the images when items need them, before the changes and again after
    them; a rerun that changes nothing costs the same few calls for ten instances as for one.
  - Up to eight instances are changed at a time (created, started, stopped, removed), each instance's
    own steps in order. Results and actions are reported in list order.
  - An item that fails rolls back its own steps and no item after it in the list is started. The
    items that were changed stay done (a rerun finishes the list); those before the failed one are
    always changed, and are returned in RV(results).
options:
  instances:
    description:
      - Instances. Each item is a dictionary of the options of M(virtcloud.core.lxd_instance), for
        example C(name), C(image), C(config), C(devices), C(profiles), C(state).
    type: list
    elements: dict
    required: true
extends_documentation_fragment:
  - virtcloud.core.lxd
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_lxd
seealso:
  - module: virtcloud.core.lxd_instance
  - module: virtcloud.core.lxd_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: Ten containers from one image, started, in one task
  virtcloud.core.lxd_instances:
    instances: "{{ nodes }}"
  vars:
    nodes: >-
      {% set out = [] %}{% for i in range(10) %}{% set _ = out.append({'name': 'node%d' % i,
      'image': 'busybox', 'config': {'limits.memory': '128MiB'}, 'state': 'started'}) %}{% endfor %}{{ out }}

- name: Two instances spelled out
  virtcloud.core.lxd_instances:
    instances:
      - name: db1
        image: busybox
        config:
          limits.memory: 1GiB
          user.role: db
        state: started
      - name: old1
        state: absent
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done) for all items, in order.
  returned: always
  type: list
  elements: str
restart_required:
  description: At least one running instance has config changes that take effect when it restarts.
  returned: when true
  type: bool
results:
  description:
    - One result per item, in order, each as M(virtcloud.core.lxd_instance) returns it
      (C(changed), C(actions), C(instance), and C(restart_required) or C(diff) when applicable).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import run_batch
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.instance import InstanceService


def main():
    run_batch(InstanceService, "instances")


if __name__ == "__main__":
    main()
