# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    """Connection options and requirements shared by every Docker module."""

    DOCUMENTATION = r"""
options:
  docker_host:
    description:
      - Address of the Docker daemon, as in C(DOCKER_HOST).
      - Set it once for all Docker modules with C(module_defaults) and the action group
        C(group/virtcloud.core.docker).
    type: str
    default: unix:///var/run/docker.sock
    aliases: [docker_url]
  timeout:
    description: Seconds to wait for one answer of the Docker API.
    type: int
    default: 60
requirements:
  - docker >= 7.0 (the Docker SDK for Python) on the managed host
notes:
  - Talks to dockerd through its API (the Docker SDK), never by parsing C(docker) CLI output.
"""
