#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: docker_image
short_description: Pull, build, import, load or remove a Docker image
version_added: 0.1.0
description:
  - Makes sure an image with the given name exists on the Docker host, or does not.
  - The source is chosen by the option you give - O(build) builds from a context directory,
    O(import_from) imports a root filesystem tar (like C(docker import)), O(load_from) loads a
    C(docker save) archive; with none of them the image is pulled from its registry.
  - "Idempotent without guessing: a built or imported image carries the label
    C(io.virtcloud.source-digest), a digest of everything it was made from (every file of the
    context, the Dockerfile name, build args and target; or the tar and O(changes)). An unchanged
    source is never rebuilt, a changed one always is. A loaded archive is compared by the image ID
    in its manifest."
options:
  name:
    description: Image reference C(repo[:tag]); the tag defaults to C(latest).
    type: str
    required: true
  state:
    description: V(present) or V(absent).
    type: str
    default: present
    choices: [present, absent]
  pull:
    description:
      - When no other source is given - V(missing) pulls only when the image is absent,
        V(always) also pulls when the registry has a newer image (check mode asks the registry),
        V(never) fails when the image is absent.
    type: str
    default: missing
    choices: [missing, always, never]
  build:
    description: Build the image from a context directory on the managed host.
    type: dict
    suboptions:
      path:
        description: Context directory.
        type: path
        required: true
      dockerfile:
        description: Dockerfile, relative to O(build.path).
        type: str
        default: Dockerfile
      args:
        description: Build arguments (C(--build-arg)).
        type: dict
      target:
        description: Build stage to stop at (C(--target)).
        type: str
  import_from:
    description: Create the image from a root filesystem tar on the managed host (C(docker import)).
    type: path
  changes:
    description: Dockerfile instructions applied on import, for example C(CMD ["httpd", "-f"]).
    type: list
    elements: str
  load_from:
    description: Load the image from a C(docker save) archive on the managed host.
    type: path
  force:
    description:
      - With V(present), rebuild, reimport or reload even when the image is up to date.
      - With V(absent), remove the image even when containers use it or it has several tags.
    type: bool
    default: false
  tags:
    description:
      - Further references C(repo[:tag]) for the same image, as C(docker tag) makes them. Present
        ones are left alone; they are set again when the image itself changes.
    type: list
    elements: str
  push:
    description:
      - Push O(name) and O(tags) to their registry when the registry does not have this image
        (its digest is compared first, so an unchanged image is not pushed again).
      - An unreachable registry fails the task with Docker's reason.
    type: bool
    default: false
  username:
    description: Registry user for pull and push. The credentials are used for this task only, never stored.
    type: str
  password:
    description: Password or token of O(username). Never shown in results or logs.
    type: str
  registry:
    description: Registry the credentials are for; by default the registry host in O(name) (Docker Hub when none).
    type: str
extends_documentation_fragment:
  - virtcloud.core.docker
  - virtcloud.core.attributes
author:
  - virtcloud.core contributors (@virtcloud)
"""

EXAMPLES = r"""
- name: Pull httpd (only if it is not there yet)
  virtcloud.core.docker_image:
    name: httpd:2.4

- name: Build an image from a local context; rebuilt only when the context changes
  virtcloud.core.docker_image:
    name: local/httpd:1
    build:
      path: /srv/build/httpd
      args:
        VERSION: "1.36"

- name: Import a root filesystem tar as an image
  virtcloud.core.docker_image:
    name: local/busybox:1
    import_from: /srv/images/busybox-rootfs.tar
    changes:
      - CMD ["/bin/sh"]

- name: Pull from a private registry and push a second tag there
  virtcloud.core.docker_image:
    name: registry.example.com/team/app:1.2
    username: deploy
    password: "{{ registry_token }}"
    tags:
      - registry.example.com/team/app:stable
    push: true

- name: Remove an image
  virtcloud.core.docker_image:
    name: local/httpd:1
    state: absent
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["build image local/httpd:1 from /srv/build/httpd"]
image:
  description: The image after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id: {description: "Image ID; null when not known before the run in check mode.", type: str, returned: when present}
    name: {description: The reference asked for., type: str, returned: when present}
    tags: {description: All tags of the image., type: list, returned: when present}
    digest: {description: Source digest of a built or imported image., type: str, returned: when present}
    created: {description: Creation time., type: str, returned: when present}
    size: {description: Size in bytes., type: int, returned: when present}
    labels: {description: Image labels., type: dict, returned: when present}
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.docker.image import ImageService


def main():
    run(ImageService)


if __name__ == "__main__":
    main()
