#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_container_exec
short_description: Run a command inside a running Docker container
version_added: 0.1.0
description:
  - Runs a command in a running container, like C(docker exec), and returns its exit code and output.
  - A command is an action, so every run reports a change, unless O(creates) names a path that
    already exists in the container; then nothing runs and C(changed) is false.
  - In check mode nothing runs; the result says whether the command would run.
  - A non-zero exit code fails the task; C(rc), C(stdout) and C(stderr) are returned with the failure.
options:
  container:
    description: Name or ID of a running container.
    type: str
    required: true
  command:
    description: Command, as a list or as a string split like a shell would (no shell runs it).
    type: raw
    required: true
  chdir:
    description: Working directory inside the container for the command.
    type: str
  env:
    description: Extra environment variables for the command. Values must be strings.
    type: dict
  user:
    description: User the command runs as (C(name), C(uid) or C(uid:gid)); the container's user by default.
    type: str
  creates:
    description:
      - Absolute path inside the container. When it exists the command is not run, so a task that
        creates it runs once.
    type: str
extends_documentation_fragment:
  - virtcloud.core.docker
  - virtcloud.core.attributes.command
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

- name: A web container with a data directory
  virtcloud.core.docker_container:
    name: example-web
    image: example-busybox:1
    command: httpd -f -p 80 -h /www
    init: true  # an init as PID 1: the container stops at once on SIGTERM
    mounts:
      - type: tmpfs
        target: /data

- name: Look at the page the web container serves
  virtcloud.core.docker_container_exec:
    container: example-web
    command: cat /www/index.html
  register: page
  changed_when: false

- name: Initialise the application once
  virtcloud.core.docker_container_exec:
    container: example-web
    command: [sh, -c, "echo ready > /data/.initialised"]
    creates: /data/.initialised
    env:
      MODE: init
    chdir: /data

- name: Remove the container
  virtcloud.core.docker_container:
    name: example-web
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
  description: The command run (or, in check mode, that would run); empty when skipped.
  returned: always
  type: list
  elements: str
  sample: ["run cat /etc/hostname in container web"]
rc:
  description: Exit code.
  returned: when the command ran (not in check mode, not when O(creates) exists)
  type: int
  sample: 0
stdout:
  description: Standard output.
  returned: always
  type: str
stderr:
  description: Standard error.
  returned: always
  type: str
stdout_lines:
  description: RV(stdout) split into lines.
  returned: always
  type: list
  elements: str
stderr_lines:
  description: RV(stderr) split into lines.
  returned: always
  type: list
  elements: str
msg:
  description: Why the command did not run.
  returned: when O(creates) exists
  type: str
  sample: "did not run: /data/.initialised exists in container web"
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.docker.exec import ExecService


def main():
    run(ExecService)


if __name__ == "__main__":
    main()
