#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_volume
short_description: Manage a persistent Docker volume
version_added: 0.1.0
description:
  - Creates a Docker volume, or removes it with O(state=absent). Volumes outlive the containers
    that use them; M(virtcloud.core.docker_container) never removes a named volume.
  - Docker cannot change a volume's driver, options or labels in place. A difference fails the
    task, naming the option, unless O(recreate) allows replacing the volume, which loses its data.
  - The volume carries the label C(io.virtcloud.managed-by=virtcloud.core).
options:
  name:
    description: Volume name.
    type: str
    required: true
  driver:
    description: Volume driver.
    type: str
    default: local
  driver_options:
    description:
      - Driver options, for example C(type), C(device), C(o) of the C(local) driver to mount a
        tmpfs or an NFS export. Values must be strings. Compared when given.
    type: dict
    aliases: [driver_opts]
  labels:
    description:
      - Labels of the volume. Each label given must have its value; labels on the volume that are
        not given are no difference and are kept when the volume is replaced (as in community.docker).
    type: dict
  state:
    description: V(present) or V(absent). Only V(absent) removes the volume and its data.
    type: str
    default: present
    choices: [present, absent]
  recreate:
    description:
      - When the volume is replaced (removed and created again empty; its data is lost).
      - V(never) - never; a driver, option or label that differs fails the task, naming the option.
      - V(options-changed) - when the driver, a driver option or a label given differs.
      - V(always) - on every run, so the task always reports a change (a scratch volume that starts empty).
      - The booleans of earlier releases still work - V(true) means V(options-changed), V(false) means V(never).
      - Docker refuses to remove a volume a container uses; such a replacement fails and changes nothing.
    type: raw
    default: never
extends_documentation_fragment:
  - virtcloud.core.docker
  - virtcloud.core.attributes
  - virtcloud.core.attributes.group_docker
seealso:
  - module: virtcloud.core.docker_container
  - module: virtcloud.core.docker_info
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: A volume for the web content
  virtcloud.core.docker_volume:
    name: example-web-data
    labels:
      app: web

- name: A size-limited tmpfs volume
  virtcloud.core.docker_volume:
    name: example-scratch
    driver_options:
      type: tmpfs
      device: tmpfs
      o: size=64m

- name: A cache volume that starts empty on every run
  virtcloud.core.docker_volume:
    name: example-build-cache
    recreate: always

- name: Remove them with their data
  virtcloud.core.docker_volume:
    name: "{{ item }}"
    state: absent
  loop: [example-web-data, example-scratch, example-build-cache]
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create volume web-data"]
volume:
  description: The volume after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    name: {description: Volume name., type: str, returned: when present}
    driver: {description: Driver., type: str, returned: when present}
    driver_options: {description: Driver options., type: dict, returned: when present}
    labels: {description: Labels beyond the ownership label., type: dict, returned: when present}
    mountpoint: {description: "Path of the data on the Docker host; null in check mode before creation.", type: str, returned: when present}
    scope: {description: "C(local) or C(global).", type: str, returned: when present}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.docker.volume import VolumeService


def main():
    run(VolumeService)


if __name__ == "__main__":
    main()
