#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_info
short_description: Facts about a Docker host - the daemon, and its images, containers, networks, volumes listed or by name
version_added: 0.1.0
description:
  - Reads the daemon's information and lists its images, containers (running or not), networks
    and volumes. Each kind listed costs one API call, however many objects the host has.
  - Or returns only the objects asked for by name (or ID), one API call each and no listing; an object
    that does not exist is returned with RV(containers[].exists=false) (and so on), which is not a failure.
  - Changes nothing; C(changed) is always false.
options:
  images:
    description:
      - V(true) lists all images, V(false) none.
      - A list of image references (V(httpd:2.4), V(local/app) meaning V(local/app:latest), or image IDs)
        returns those images only, in that order, without listing the others.
      - When not set, V(true), unless another of O(images), O(containers), O(networks), O(volumes) names
        objects; then V(false), so that a task that asks for some objects by name reads nothing else.
    type: raw
  containers:
    description:
      - V(true) lists all containers, running or not; V(false) none.
      - A list of container names (or IDs) returns those containers only, in that order, without listing
        the others. A single name may be given as a string; quote a name that YAML reads as a boolean.
      - When not set, V(true), unless another of O(images), O(containers), O(networks), O(volumes) names
        objects; then V(false).
    type: raw
  networks:
    description:
      - V(true) lists all networks, V(false) none; a list of network names (or IDs) returns those only.
      - When not set, V(true), unless another of O(images), O(containers), O(networks), O(volumes) names
        objects; then V(false).
    type: raw
  volumes:
    description:
      - V(true) lists all volumes, V(false) none; a list of volume names returns those only.
      - When not set, V(true), unless another of O(images), O(containers), O(networks), O(volumes) names
        objects; then V(false).
    type: raw
extends_documentation_fragment:
  - virtcloud.core.docker
  - virtcloud.core.attributes.info
  - virtcloud.core.attributes.group_docker
seealso:
  - module: virtcloud.core.docker_container
  - module: virtcloud.core.docker_containers
  - module: virtcloud.core.docker_image
  - module: virtcloud.core.docker_network
  - module: virtcloud.core.docker_volume
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
# No registry needed: the image is built from a static busybox (Debian's busybox-static) in a local context.
- name: A build context directory
  ansible.builtin.file:
    path: /var/tmp/example-build
    state: directory
    mode: "0755"

- name: A static busybox in it
  ansible.builtin.copy:
    src: /bin/busybox
    remote_src: true
    dest: /var/tmp/example-build/busybox
    mode: "0755"

- name: Its Dockerfile
  ansible.builtin.copy:
    dest: /var/tmp/example-build/Dockerfile
    mode: "0644"
    content: |
      FROM scratch
      COPY busybox /bin/busybox
      RUN ["/bin/busybox", "sh", "-c", "/bin/busybox --install -s /bin && mkdir /www && echo It works > /www/index.html"]
      CMD ["sh"]

- name: Build an image from the local context; rebuilt only when the context changes
  virtcloud.core.docker_image:
    name: example-busybox:1
    build:
      path: /var/tmp/example-build

- name: A container and a volume to look at
  virtcloud.core.docker_container:
    name: example-web
    image: example-busybox:1
    command: httpd -f -p 80 -h /www
    init: true  # an init as PID 1: the container stops at once on SIGTERM
    mounts:
      - source: example-web-data
        target: /www

- name: What runs on this Docker host
  virtcloud.core.docker_info:
    images: false
    volumes: false
  register: docker

# Label keys contain dots: test for the key with contains (an attribute path such as labels.io.virtcloud... finds nothing).
- name: The containers this collection manages include example-web
  ansible.builtin.assert:
    that: "'example-web' in managed"
    success_msg: "managed by virtcloud.core: {{ managed | join(', ') }}"
  vars:
    managed: "{{ docker.containers | selectattr('labels', 'contains', 'io.virtcloud.managed-by') | map(attribute='name') | list }}"

- name: Look up one container and one volume by name (two inspect calls, no listing)
  virtcloud.core.docker_info:
    containers: [example-web]
    volumes: [example-web-data]
  register: web

- name: Say whether the container exists and how it runs
  ansible.builtin.debug:
    msg: "{{ 'example-web is ' ~ web.containers[0].status if web.containers[0].exists else 'there is no container example-web' }}"

- name: Remove the container
  virtcloud.core.docker_container:
    name: example-web
    state: absent

- name: Remove the volume
  virtcloud.core.docker_volume:
    name: example-web-data
    state: absent

- name: Remove the image and its build context
  virtcloud.core.docker_image:
    name: example-busybox:1
    state: absent

- name: Remove the build context
  ansible.builtin.file:
    path: /var/tmp/example-build
    state: absent
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
  description:
    - "Images: id, tags, created (epoch seconds), size, labels."
    - "Asked for by name: in the order asked, each with C(name) (the reference asked for) and C(exists);
      one that does not exist is only C(name) and C(exists=false)."
  returned: when O(images) is not false
  type: list
  elements: dict
  contains:
    exists:
      description: Whether the image asked for by name exists. Only for images asked for by name.
      type: bool
containers:
  description:
    - "Containers: id, name, image, image_id, state, status, labels, networks, ports."
    - "Asked for by name: in the order asked, each with C(exists); one that does not exist is only
      C(name) (as asked) and C(exists=false). C(status) is then the state with the exit code or
      health (V(exited (0\\)), V(running (healthy\\))) rather than the listing's V(Up 5 minutes)."
  returned: when O(containers) is not false
  type: list
  elements: dict
  contains:
    exists:
      description: Whether the container asked for by name exists. Only for containers asked for by name.
      type: bool
networks:
  description:
    - "Networks: id, name, driver, scope, internal, subnet, labels."
    - "Asked for by name: in the order asked, each with C(exists); one that does not exist is only
      C(name) and C(exists=false)."
  returned: when O(networks) is not false
  type: list
  elements: dict
  contains:
    exists:
      description: Whether the network asked for by name exists. Only for networks asked for by name.
      type: bool
volumes:
  description:
    - "Volumes: name, driver, mountpoint, labels."
    - "Asked for by name: in the order asked, each with C(exists); one that does not exist is only
      C(name) and C(exists=false)."
  returned: when O(volumes) is not false
  type: list
  elements: dict
  contains:
    exists:
      description: Whether the volume asked for by name exists. Only for volumes asked for by name.
      type: bool
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.docker.info import DockerInfoService


def main():
    run(DockerInfoService)


if __name__ == "__main__":
    main()
