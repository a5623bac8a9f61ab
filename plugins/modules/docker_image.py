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
  - O(archive_path) also writes the image to a C(docker save) archive on the managed host.
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
  platform:
    description:
      - Platform C(os[/arch[/variant]]) of the image, for example V(linux/amd64) or V(linux/arm/v7);
        case does not matter, and V(x86_64) and V(aarch64) stand for V(amd64) and V(arm64).
      - A pull asks the registry for this platform; an image that is present for another platform
        counts as missing (a platform without arch or variant matches any).
      - A build passes it to Docker (C(docker build --platform)) and counts it in the source digest.
        Docker's classic builder records the daemon's own platform in an image built C(FROM scratch).
      - Not with O(import_from) or O(load_from).
    type: str
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
    description:
      - Load the image from a C(docker save) archive on the managed host (legacy or OCI layout).
      - The image is the one tagged O(name) in the archive, or the archive's only image, which is
        then tagged O(name).
      - The archive's C(manifest.json) is read first; a file that is no such archive fails the task
        before anything is touched.
    type: path
  force:
    description:
      - With V(present), rebuild, reimport or reload even when the image is up to date. The task
        reports a change only when the image ID or tags (or the archive of O(archive_path)) did
        change - a rebuild from Docker's cache gives the very same image. Check mode predicts a
        change for a build or import, whose image ID is known only afterwards; a reload's image ID
        is in the archive, so check mode predicts it exactly.
      - With V(absent), remove the image even when containers use it or it has several tags.
    type: bool
    default: false
  tags:
    description:
      - Further references C(repo[:tag]) for the same image, as C(docker tag) makes them. Present
        ones are left alone; they are set again when the image itself changes. The tag defaults to
        C(latest); a digest reference is refused.
    type: list
    elements: str
  repository:
    description:
      - One more reference C(repo[:tag]) for the image, as in community.docker's C(docker_image)
        (for example to push the image to another registry). It is one more entry of O(tags),
        except that without a tag of its own it takes the tag of O(name).
    type: str
  archive_path:
    description:
      - Also save the image (as O(name)) to this C(docker save) archive on the managed host, like
        C(docker save -o). The archive is left alone when its C(manifest.json) already holds this
        image ID as O(name); otherwise it is written to a temporary file in the same directory and
        renamed over the path when complete (removed on failure; a replaced file keeps its mode,
        a new one is readable by its owner only).
      - The directory must exist. Only with O(state=present).
    type: path
  push:
    description:
      - Push O(name), O(tags) and O(repository) to their registry when the registry does not have this image
        (its digest is compared first, so an unchanged image is not pushed again).
      - An unreachable registry fails the task with Docker's reason.
      - A push is always reported as a change (the registry is not read back), also after a forced
        rebuild that gave the same image.
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

- name: Keep a copy of it as an archive
  virtcloud.core.docker_image:
    name: example-busybox:1
    archive_path: /var/tmp/example-build/busybox-1.tar

- name: Load an image from an archive under another name (as example-app:1)
  virtcloud.core.docker_image:
    name: example-app:1
    load_from: /var/tmp/example-build/busybox-1.tar

- name: A root filesystem tar (here just the busybox binary)
  ansible.builtin.command:
    cmd: tar -C /var/tmp/example-build -cf /var/tmp/example-build/rootfs.tar busybox
    creates: /var/tmp/example-build/rootfs.tar

- name: Import a root filesystem tar as an image
  virtcloud.core.docker_image:
    name: example-rootfs:1
    import_from: /var/tmp/example-build/rootfs.tar
    changes:
      - CMD ["/busybox", "sh"]

- name: Pull httpd (only if it is not there yet)
  virtcloud.core.docker_image:
    name: httpd:2.4
  tags: [registry]

- name: Pull from a private registry and push a second tag there
  virtcloud.core.docker_image:
    name: registry.example.com/team/app:1.2
    username: deploy
    password: "{{ registry_token }}"
    tags:
      - registry.example.com/team/app:stable
    push: true
  tags: [registry]

- name: Remove the loaded and the imported image
  virtcloud.core.docker_image:
    name: "{{ item }}"
    state: absent
  loop: [example-app:1, example-rootfs:1]

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
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["build image local/httpd:1 from /srv/build/httpd", "save image local/httpd:1 to /srv/images/httpd.tar"]
image:
  description: The image after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id: {description: "Image ID; null when not known before the run in check mode.", type: str, returned: when present}
    name: {description: The reference asked for., type: str, returned: when present}
    tags: {description: All tags of the image., type: list, returned: when present}
    digest: {description: Source digest of a built or imported image., type: str, returned: when present}
    platform:
      description: "Platform of the image, C(os/arch[/variant]); null when not known before the run in check mode."
      type: str
      returned: when present
      sample: linux/amd64
    archive:
      description: The archive of O(archive_path) - its C(path), and the C(id) of the image it holds as O(name) (null when none).
      type: dict
      returned: when O(archive_path) is set
      sample: {path: /srv/images/app-1.tar, id: "sha256:4f0f..."}
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
