#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_container
short_description: Manage a Docker container declaratively
version_added: 0.1.0
description:
  - Creates, starts, stops, updates and removes one Docker container so that it matches the spec.
  - Only options you set are compared. Values the image supplies (its environment, command,
    entrypoint, labels) never cause a recreate.
  - Changes Docker can apply to a running container (O(restart_policy)) are applied in place;
    any other difference replaces the container. The replacement is created under a temporary
    name first, so a spec Docker refuses leaves the old container running.
  - Everything the module creates carries the label C(io.virtcloud.managed-by=virtcloud.core).
options:
  name:
    description: Container name.
    type: str
    required: true
  image:
    description:
      - Image reference (C(repo:tag) or ID). Required to create a container.
      - The container is recreated when the image ID behind the reference changes.
      - The image must exist on the host; use M(virtcloud.core.docker_image) to pull, build or import it.
    type: str
  command:
    description:
      - Command to run, as a list or as a string split like a shell would.
      - When omitted the image's default command is used and not compared.
    type: raw
  entrypoint:
    description: Entrypoint as a list. When omitted the image's entrypoint is used and not compared.
    type: list
    elements: str
  env:
    description:
      - Environment variables. Values must be strings (quote C("true"), C("1")).
      - Variables the image sets are not compared unless you name them here.
    type: dict
  published_ports:
    description:
      - Ports to publish, in C(docker run -p) syntax C([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]),
        for example C(127.0.0.1:8088:80), C(53:53/udp), C(8000-8002:80-82), C([::1]:8443:443).
      - The list is compared as a set.
    type: list
    elements: str
    aliases: [ports]
  labels:
    description: Labels of the container. Labels the image sets are not compared unless named here.
    type: dict
  restart_policy:
    description: Docker restart policy, applied in place without recreating the container.
    type: str
    choices: ["no", always, on-failure, unless-stopped]
  state:
    description:
      - V(started) - the container exists and runs.
      - V(stopped) - the container exists and does not run.
      - V(present) - the container exists; a new one is created but not started, an existing one
        keeps its run state.
      - V(absent) - the container is stopped and removed. Named volumes it used are kept.
    type: str
    default: started
    choices: [present, started, stopped, absent]
  recreate:
    description: Replace the container even when it matches the spec.
    type: bool
    default: false
  stop_timeout:
    description: Seconds to wait for a graceful stop before Docker kills the container.
    type: int
    default: 10
extends_documentation_fragment:
  - virtcloud.core.docker
  - virtcloud.core.attributes
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: Run the classic httpd container on port 8088
  virtcloud.core.docker_container:
    name: myApache
    image: httpd:2.4
    published_ports:
      - 127.0.0.1:8088:80
    restart_policy: unless-stopped

- name: Stop it (it stays defined)
  virtcloud.core.docker_container:
    name: myApache
    state: stopped

- name: Remove it
  virtcloud.core.docker_container:
    name: myApache
    state: absent

- name: Point every Docker module of a play at one daemon
  module_defaults:
    group/virtcloud.core.docker:
      docker_host: unix:///run/user/1000/docker.sock
  block:
    - name: Container with environment and a command
      virtcloud.core.docker_container:
        name: worker
        image: busybox:latest
        command: sleep infinity
        env:
          MODE: batch
          DEBUG: "false"
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["create container myApache", "start container myApache"]
container:
  description: The container after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id: {description: "Container ID; null for a container still to be created in check mode.", type: str, returned: when present}
    name: {description: Container name., type: str, returned: when present}
    image: {description: Image reference the container was created from., type: str, returned: when present}
    image_id: {description: ID of the image the container runs., type: str, returned: when present}
    command: {description: Command., type: list, returned: when present}
    entrypoint: {description: Entrypoint., type: list, returned: when present}
    env: {description: Environment the container sets beyond its image's., type: dict, returned: when present}
    published_ports: {description: Published ports in C(docker run -p) syntax., type: list, returned: when present}
    labels: {description: Labels beyond the image's and the ownership label., type: dict, returned: when present}
    restart_policy: {description: Restart policy name., type: str, returned: when present}
    running: {description: Whether the container runs., type: bool, returned: when present}
    status: {description: "Docker's status word: running, exited or created.", type: str, returned: when present}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import ContainerService


def main():
    run(ContainerService)


if __name__ == "__main__":
    main()
