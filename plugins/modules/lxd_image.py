#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: lxd_image
short_description: Import, publish and manage LXD images and their aliases
version_added: 0.1.0
description:
  - Imports an image into LXD from image files - a split image (a metadata tarball and a rootfs
    file) or a unified tarball - or publishes an instance, or one of its snapshots, as an image
    (a template to launch instances from). Manages the image's aliases, properties and
    O(public) in place, and deletes images.
  - Which image the task means - the one with O(fingerprint); for image files, the fingerprint LXD gives
    them, which the module computes from the files before anything is uploaded (the sha256 of the
    metadata tarball's bytes followed by the rootfs file's, or of the unified tarball); otherwise the
    image the first of O(aliases) points at.
  - So image files are imported once - a rerun with the same files changes nothing, and files with
    other content are a new image (the aliases move to it). An instance is published when the first
    alias does not exist yet; when it does, the image under it is kept as it is (its aliases,
    properties and O(public) managed), unless O(refresh=true) publishes the instance again.
  - The files are streamed to LXD as they are read (a C(multipart/form-data) upload), never read
    into memory whole, and LXD checks the fingerprint the module computed.
  - Failures are found before anything is touched, in check mode too - missing or unreadable
    files, a metadata tarball without C(metadata.yaml) (or without the C(architecture) and
    C(creation_date) LXD needs), an instance or snapshot that does not exist, an instance that is
    not stopped, bad aliases.
options:
  fingerprint:
    description:
      - The image's fingerprint, or its start (LXD finds the image by a unique prefix).
      - With image files in O(source), the files' own fingerprint must start with it.
      - Not with O(source.instance) - a published image gets its fingerprint when it is made.
    type: str
  aliases:
    description:
      - The image's aliases - exactly these point at the image after the run. An alias the image does not
        have yet is created, or moved from the image that has it; an alias the image has that is not listed is
        removed. Not managed when omitted.
      - An image that loses its last alias to this image this way is deleted - so republishing a template
        under its alias (or importing new files under it) replaces the previous image; an image that
        keeps another alias is kept.
      - The first alias finds the image when neither O(fingerprint) nor image files are given, and is required
        to publish an instance.
      - An alias must not be empty, C(.) or C(..), nor hold C(:) (C(lxc) reads what is before it as a remote)
        or control characters.
    type: list
    elements: str
  source:
    description:
      - What to make the image from when it does not exist - image files, or an instance.
      - Give O(source.metadata) and O(source.rootfs) (a split image), or O(source.tarball) (a unified image),
        or O(source.instance) (with O(source.snapshot) to publish a snapshot of it).
    type: dict
    suboptions:
      metadata:
        description:
          - Path of the metadata tarball of a split image on the managed host (C(metadata.yaml) and
            C(templates/); a tar, plain or gzip, bzip2 or xz compressed).
        type: path
      rootfs:
        description:
          - Path of the rootfs of a split image on the managed host - a tarball or squashfs of the
            file system for a container, a qcow2 disk (C(rootfs.img)) for a virtual machine.
        type: path
      tarball:
        description: Path of a unified image tarball (C(metadata.yaml) and C(rootfs/)) on the managed host.
        type: path
      instance:
        description:
          - Name of the instance to publish. It must be stopped; to publish a running instance, publish a
            snapshot of it (O(source.snapshot)).
        type: str
      snapshot:
        description: Name of the snapshot of O(source.instance) to publish instead of the instance itself.
        type: str
  properties:
    description:
      - Properties of the image (C(description), C(os), C(release), ...). Only the properties given are managed -
        each gets its value, one given the value V(null) is removed, and properties not named are kept (an
        imported image starts with those of its C(metadata.yaml), a published one with those of the image
        the instance was made from).
      - Changed in place, never by importing or publishing again.
    type: dict
  public:
    description: Whether LXD serves the image to clients it does not trust. Changed in place. Not managed when omitted.
    type: bool
  refresh:
    description:
      - With O(source.instance), publish the instance again even though the first alias exists, and move the
        aliases to the new image (the previous image is deleted when it is left without an alias). Every
        run then changes something.
    type: bool
    default: false
  state:
    description:
      - V(present) makes the image exist as described; V(absent) deletes the image the task means (with its aliases).
    type: str
    default: present
    choices: [present, absent]
notes:
  - A C(metadata.yaml) that is not JSON is read with PyYAML on the managed host, to check it and to
    predict the image's properties before the upload.
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
# No image server needed: a busybox image built from Debian's static busybox (busybox-static).
- name: Directories for the image's metadata and root filesystem
  ansible.builtin.file:
    path: /var/tmp/example-busybox/{{ item }}
    state: directory
    mode: "0755"
  loop: [meta, rootfs/bin, rootfs/sbin, rootfs/etc, rootfs/proc, rootfs/sys, rootfs/dev, rootfs/run, rootfs/tmp,
         rootfs/root, rootfs/var]

- name: A static busybox
  ansible.builtin.copy:
    src: /bin/busybox
    remote_src: true
    dest: /var/tmp/example-busybox/rootfs/bin/busybox
    mode: "0755"

- name: Its applets
  ansible.builtin.file:
    src: busybox
    dest: /var/tmp/example-busybox/rootfs/bin/{{ item }}
    state: link
  loop: [sh, sleep, mount, cat, ip, udhcpc]

- name: An init that idles until LXD stops it
  ansible.builtin.copy:
    dest: /var/tmp/example-busybox/rootfs/sbin/init
    mode: "0755"
    content: |
      #!/bin/sh
      mount -t proc proc /proc
      trap 'exit 0' PWR TERM
      while :; do sleep 1 & wait $!; done

- name: The image's metadata
  ansible.builtin.copy:
    dest: /var/tmp/example-busybox/meta/metadata.yaml
    mode: "0644"
    content: |
      architecture: {{ lookup('pipe', 'uname -m') }}
      creation_date: 1700000000
      properties: {description: busybox, os: busybox, release: "1"}

- name: Pack the metadata and the root filesystem
  ansible.builtin.command:
    cmd: tar -C /var/tmp/example-busybox/{{ item }} -czf /var/tmp/example-busybox/{{ item }}.tar.gz .
    creates: /var/tmp/example-busybox/{{ item }}.tar.gz
  loop: [meta, rootfs]

- name: Import the split image (metadata tarball + rootfs) under an alias
  virtcloud.core.lxd_image:
    aliases: [example-busybox]
    source:
      metadata: /var/tmp/example-busybox/meta.tar.gz
      rootfs: /var/tmp/example-busybox/rootfs.tar.gz

- name: An instance to publish
  virtcloud.core.lxd_instance:
    name: example-web-build
    image: example-busybox
    state: stopped

- name: Publish the stopped instance as a template image
  virtcloud.core.lxd_image:
    aliases: [example-web-template]
    source:
      instance: example-web-build
    properties:
      description: Web server template
      release: "2.4"

# A snapshot of the instance (lxc snapshot example-web-build golden) is published the same way, and
# refresh replaces the template under the alias every run:
#   virtcloud.core.lxd_image:
#     aliases: [example-web-template]
#     source: {instance: example-web-build, snapshot: golden}
#     refresh: true

- name: Another alias, one property changed, served to untrusted clients
  virtcloud.core.lxd_image:
    aliases: [example-web-template, example-web]
    properties:
      release: "2.5"
    public: true

- name: Delete the template image (its aliases go with it)
  virtcloud.core.lxd_image:
    aliases: [example-web-template]
    state: absent

- name: Remove the instance
  virtcloud.core.lxd_instance:
    name: example-web-build
    state: absent

- name: Delete the image (its aliases go with it)
  virtcloud.core.lxd_image:
    aliases: [example-busybox]
    state: absent

- name: Remove the image's files
  ansible.builtin.file:
    path: /var/tmp/example-busybox
    state: absent
"""

RETURN = r"""
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["import image baca0e35202a from meta.tar.gz + rootfs.tar.gz", "create alias busybox"]
image:
  description: The image after the run (predicted in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    fingerprint:
      description: "The image's fingerprint (sha256); null in check mode for an image still to be published."
      type: str
      returned: when present
    aliases: {description: "The image's aliases, sorted.", type: list, elements: str, returned: when present}
    properties: {description: "The image's properties.", type: dict, returned: when present,
                 sample: {"description": "Web server template", "os": "busybox"}}
    public: {description: Whether LXD serves the image to untrusted clients., type: bool, returned: when present}
    architecture: {description: "Architecture, e.g. C(x86_64).", type: str, returned: when present}
    type: {description: "C(container) or C(virtual-machine).", type: str, returned: when present}
    size:
      description: "Size in bytes of the image files; null in check mode for an image still to be published."
      type: int
      returned: when present
"""

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import run
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.image import ImageService


def main():
    run(ImageService)


if __name__ == "__main__":
    main()
