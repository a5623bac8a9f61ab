#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_containers
short_description: Reconcile many Docker containers in one task
version_added: 0.1.0
description:
  - Brings a list of containers to their specs in one task. Each item takes the options of
    M(virtcloud.core.docker_container) and is validated, compared and changed by the same code,
    so both modules behave identically item by item.
  - One listing call reads every container of the host. A container is inspected only when its
    listing entry cannot prove it matches - the label C(io.virtcloud.spec-digest) (a digest of the
    options that need a recreate), the image ID and the run state are all in the listing; options
    Docker changes in place (limits, restart policy, networks) are read back by inspecting the
    containers that set them.
  - Every item is validated and planned before anything changes. Up to eight containers are
    created, replaced, started or removed at a time, each container's own steps in order; results
    and actions are reported in list order.
  - An item that fails rolls back its own steps and no item after it in the list is started. The
    items that were changed stay done (a rerun finishes the list); those before the failed one are
    always changed, and are returned in RV(results).
options:
  containers:
    description:
      - Container specs. Each item takes the options of M(virtcloud.core.docker_container) except
        the connection options (O(docker_host), O(timeout)), which are set once for the task.
      - With O(state=deleted) only C(name) is used.
    type: list
    elements: dict
    required: true
  state:
    description:
      - V(merged) - each listed container gets the options its item sets; options it omits are not
        compared, exactly as with M(virtcloud.core.docker_container) (a container that has to be
        recreated gets what its item sets). An item may still say C(state=absent).
      - V(replaced) - like V(merged), and options an item omits are reset to what a new container
        has (no environment, labels, ports, mounts, volumes from other containers, capabilities,
        limits, devices, ulimits, sysctls, DNS settings; restart policy C(no); Docker's defaults
        for the runtime, IPC mode and C(/dev/shm) size). Values the image supplies are kept.
      - V(overridden) - like V(replaced), and the containers this task's O(owner) created earlier
        that the list no longer names are removed, before the listed ones are reconciled; each
        removal is reported in RV(results) too (check mode lists exactly these). Containers
        created by M(virtcloud.core.docker_container), by another owner or outside this
        collection are never touched.
      - V(deleted) - the listed containers are removed.
    type: str
    default: merged
    choices: [merged, replaced, overridden, deleted]
  owner:
    description:
      - Who the containers this task creates belong to, recorded in their label
        C(io.virtcloud.owner). O(state=overridden) removes only containers of this owner.
      - Give each group of containers that a playbook manages with O(state=overridden) its own
        owner, for example the application's name. Letters, digits, C(_), C(.) and C(-).
      - Recorded when a container is created or replaced; a container that already exists and
        matches keeps the owner it has.
    type: str
    default: default
  stop_timeout:
    description:
      - Seconds to wait for a graceful stop of a container O(state=overridden) removes. Listed
        containers use their item's C(stop_timeout).
    type: int
    default: 10
notes:
  - "Measured with C(make bench) on a 2-core host, task time (playbook time less an empty playbook's):
    a no-op rerun over 100 containers takes 0.50 s, against 35.9 s for C(community.docker.docker_container)
    in a loop (72x) and 28.9 s for M(virtcloud.core.docker_container) in a loop; creating 100 takes 11.1 s
    against 56.9 s and 49.6 s (containers are started concurrently)."
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

- name: A web front and three workers, in one task
  virtcloud.core.docker_containers:
    containers: "{{ [web] + workers }}"
  vars:
    web:
      name: example-web
      image: example-busybox:1
      command: httpd -f -p 80 -h /www
      init: true  # an init as PID 1: the container stops at once on SIGTERM
      published_ports: [127.0.0.1:18080:80]
      restart_policy: unless-stopped
    workers:
      - {name: example-worker-1, image: "example-busybox:1", command: sleep infinity, init: true}
      - {name: example-worker-2, image: "example-busybox:1", command: sleep infinity, init: true}
      - {name: example-worker-3, image: "example-busybox:1", command: sleep infinity, memory: 64m, init: true}

- name: Remove some
  virtcloud.core.docker_containers:
    state: deleted
    containers:
      - name: example-worker-2
      - name: example-worker-3

# overridden removes every other container this collection manages on the daemon (tagged host_wide:
# run it only where every managed container is listed here).
- name: Exactly these managed containers, nothing else that this collection created
  virtcloud.core.docker_containers:
    state: overridden
    containers:
      - name: example-web
        image: example-busybox:1
        command: httpd -f -p 80 -h /www
        init: true  # an init as PID 1: the container stops at once on SIGTERM
        published_ports: [127.0.0.1:18080:80]
        restart_policy: unless-stopped
      - {name: example-worker-1, image: "example-busybox:1", command: sleep infinity, init: true}
  tags: [host_wide]

- name: Remove the rest
  virtcloud.core.docker_containers:
    state: deleted
    containers:
      - name: example-web
      - name: example-worker-1

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
  description: What was done (or, in check mode, would be done), in order, for all containers.
  returned: always
  type: list
  elements: str
  sample: ["create container web", "start container web"]
results:
  description:
    - One result per container, in order (removals of O(state=overridden) first, then the listed
      ones), each as M(virtcloud.core.docker_container) returns it (C(changed), C(actions),
      C(container), and C(diff) when asked for).
    - A container proven up to date by its listing entry reports the managed options as specified.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import run_batch
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import ContainerService
from ansible_collections.virtcloud.core.plugins.module_utils.docker.containers import ContainersBatch


def main():
    run_batch(ContainerService, "containers", ContainersBatch)


if __name__ == "__main__":
    main()
