#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lxd_profile
short_description: Manage an LXD profile - its config, devices and description
version_added: 0.1.0
description:
  - Creates, changes in place and removes an LXD profile through the LXD REST API.
  - A change is one update of the profile; LXD applies it to the instances that use the profile.
  - A profile that instances use is not removed - the task fails naming them (LXD's own C(used_by)),
    before anything is touched, in check mode too.
options:
  name:
    description:
      - Profile name. LXD takes any text but C(.) and C(..), without C(/); control characters are
        refused too.
    type: str
    required: true
  description:
    description: Description of the profile. Not managed when omitted.
    type: str
  config:
    description:
      - Config keys of the profile, for example C(limits.cpu), C(security.nesting), C(user.*).
      - Only the keys given are managed - each gets its value, a key given the value V(null) is removed,
        and keys not named are kept as they are.
      - LXD holds every value as text - V(true) becomes C(true), V(2) becomes C(2). Quote a number
        with a decimal point (V("1.10")); an unquoted one is refused.
    type: dict
  devices:
    description:
      - Devices of the profile, by device name, each a map of its keys with its C(type) (C(nic), C(disk),
        C(proxy), ...).
      - Each device given is set exactly as given (keys it does not list are not kept); a device given the
        value V(null) is removed; devices not named are kept as they are.
    type: dict
  state:
    description:
      - V(present) creates or updates the profile, V(absent) removes it.
      - V(absent) fails while instances use the profile, and for the C(default) profile, which LXD keeps.
    type: str
    default: present
    choices: [present, absent]
extends_documentation_fragment:
  - virtcloud.core.lxd
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_lxd
seealso:
  - module: virtcloud.core.lxd_instance
  - module: virtcloud.core.lxd_network
  - module: virtcloud.core.lxd_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A profile that limits CPU and memory and attaches a NIC to a bridge
  virtcloud.core.lxd_profile:
    name: example-small
    description: One CPU, 256 MiB
    config:
      limits.cpu: "1"
      limits.memory: 256MiB
    devices:
      eth0:
        type: nic
        network: lxdbr0
        name: eth0

- name: Drop one config key and one device, keep the rest
  virtcloud.core.lxd_profile:
    name: example-small
    config:
      limits.memory: null
    devices:
      eth0: null

- name: Remove the profile (fails while instances use it)
  virtcloud.core.lxd_profile:
    name: example-small
    state: absent
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["update profile small: config limits.memory; devices eth0"]
profile:
  description: The profile after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: Profile name., type: str, returned: when present}
    description: {description: Description., type: str, returned: when present}
    config: {description: "All config keys of the profile, as text.", type: dict, returned: when present,
             sample: {"limits.cpu": "1"}}
    devices: {description: "All devices of the profile, each a map of text.", type: dict, returned: when present,
              sample: {"eth0": {"type": "nic", "network": "lxdbr0", "name": "eth0"}}}
    used_by: {description: "What uses the profile, as C(instance NAME) (with C((project P)) outside the default project).",
              type: list, elements: str, returned: when present, sample: ["instance web"]}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.profile import ProfileService


def main():
    run(ProfileService)


if __name__ == "__main__":
    main()
