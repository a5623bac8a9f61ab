#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_info
short_description: Facts about a Docker host - the daemon, images, containers, networks, volumes
version_added: 0.1.0
description:
  - Reads the daemon's information and lists its images, containers (running or not), networks
    and volumes. Each kind costs one API call, however many objects the host has.
  - Changes nothing; C(changed) is always false.
options:
  images:
    description: List the images.
    type: bool
    default: true
  containers:
    description: List all containers, running or not.
    type: bool
    default: true
  networks:
    description: List the networks.
    type: bool
    default: true
  volumes:
    description: List the volumes.
    type: bool
    default: true
extends_documentation_fragment:
  - virtcloud.core.docker
  - virtcloud.core.attributes
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: What runs on this Docker host
  virtcloud.core.docker_info:
    images: false
    volumes: false
  register: docker

- name: Show the containers this collection manages
  ansible.builtin.debug:
    msg: "{{ docker.containers | selectattr('labels.io.virtcloud.managed-by', 'defined') | map(attribute='name') }}"
"""

RETURN = r"""
actions:
  description: Always empty; the module only reads.
  returned: always
  type: list
  elements: str
host:
  description: The daemon.
  returned: always
  type: dict
  contains:
    id: {description: Daemon ID., type: str}
    name: {description: Host name., type: str}
    server_version: {description: Docker version., type: str}
    operating_system: {description: Host operating system., type: str}
    kernel_version: {description: Kernel version., type: str}
    architecture: {description: CPU architecture., type: str}
    cpus: {description: Number of CPUs., type: int}
    memory: {description: Memory in bytes., type: int}
    storage_driver: {description: Storage driver., type: str}
    cgroup_version: {description: Cgroup version., type: str}
    root_dir: {description: Docker's data directory., type: str}
    containers: {description: Number of containers., type: int}
    containers_running: {description: Number of running containers., type: int}
    images: {description: Number of images., type: int}
images:
  description: "Images: id, tags, created (epoch seconds), size, labels."
  returned: when O(images=true)
  type: list
  elements: dict
containers:
  description: "Containers: id, name, image, image_id, state, status, labels, networks, ports."
  returned: when O(containers=true)
  type: list
  elements: dict
networks:
  description: "Networks: id, name, driver, scope, internal, subnet, labels."
  returned: when O(networks=true)
  type: list
  elements: dict
volumes:
  description: "Volumes: name, driver, mountpoint, labels."
  returned: when O(volumes=true)
  type: list
  elements: dict
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.docker.info import DockerInfoService


def main():
    run(DockerInfoService)


if __name__ == "__main__":
    main()
