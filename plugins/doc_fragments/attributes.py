# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes of the modules (ansible-core's check_mode, diff_mode, platform, action_group).

One fragment for how a module runs (DOCUMENTATION: a stateful module of the shared engine; INFO: a
read-only *_info module; COMMAND: a module that runs a command), each with the platform, and one for
the action groups of meta/runtime.yml it belongs to (GROUP_DOCKER, GROUP_LIBVIRT, GROUP_LIBVIRT_OVA,
GROUP_OVA, GROUP_LXD, GROUP_LXC, GROUP_HOST, or GROUP_NONE). Not DOCKER, LIBVIRT, ...: ansible-core
resolves virtcloud.core.attributes.docker to the fragment virtcloud.core.docker. String literals,
as ansible-test's yamllint reads them. tests/unit/test_module_attributes.py checks them against the
engine and meta/runtime.yml."""

from __future__ import annotations


class ModuleDocFragment:
    """Check and diff mode, platform and action groups."""

    # every stateful module of the shared engine (common/engine.py, common/batch.py)
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Predicts exactly what a real run would change, and changes nothing.
    details: Values only the backend assigns when it creates the object (an ID, a MAC address) are null in the prediction.
  diff_mode:
    support: full
    description: Returns the normalised object before and after the change (the prediction in check mode).
  platform:
    support: full
    platforms: posix
    description: Runs on the managed host, a Linux host with the backend it manages.
"""

    # the read-only *_info modules
    INFO = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only; there is nothing to diff, and no diff is returned.
  platform:
    support: full
    platforms: posix
    description: Runs on the managed host, a Linux host with the backend it manages.
"""

    # modules that run a command (docker_container_exec)
    COMMAND = r"""
options: {}
attributes:
  check_mode:
    support: partial
    description: Nothing runs in check mode.
    details:
      - C(changed) says whether the command would run (it would not when O(creates) exists). Its output
        and exit code cannot be predicted - C(stdout) and C(stderr) are empty and there is no C(rc).
  diff_mode:
    support: none
    description: A command has no state to diff; no diff is returned.
  platform:
    support: full
    platforms: posix
    description: Runs on the managed host, a Linux host with the backend it manages.
"""

    # action_group: the groups of meta/runtime.yml that list the module
    GROUP_DOCKER = r"""
options: {}
attributes:
  action_group:
    support: full
    membership: [virtcloud.core.docker]
    description: Use C(group/virtcloud.core.docker) in C(module_defaults) to set defaults for this module.
"""

    GROUP_LIBVIRT = r"""
options: {}
attributes:
  action_group:
    support: full
    membership: [virtcloud.core.libvirt]
    description: Use C(group/virtcloud.core.libvirt) in C(module_defaults) to set defaults for this module.
"""

    GROUP_LIBVIRT_OVA = r"""
options: {}
attributes:
  action_group:
    support: full
    membership: [virtcloud.core.libvirt, virtcloud.core.ova]
    description: Use C(group/virtcloud.core.libvirt) or C(group/virtcloud.core.ova) in C(module_defaults) to set defaults for this module.
"""

    GROUP_OVA = r"""
options: {}
attributes:
  action_group:
    support: full
    membership: [virtcloud.core.ova]
    description: Use C(group/virtcloud.core.ova) in C(module_defaults) to set defaults for this module.
"""

    GROUP_LXD = r"""
options: {}
attributes:
  action_group:
    support: full
    membership: [virtcloud.core.lxd]
    description: Use C(group/virtcloud.core.lxd) in C(module_defaults) to set defaults for this module.
"""

    GROUP_LXC = r"""
options: {}
attributes:
  action_group:
    support: full
    membership: [virtcloud.core.lxc]
    description: Use C(group/virtcloud.core.lxc) in C(module_defaults) to set defaults for this module.
"""

    GROUP_HOST = r"""
options: {}
attributes:
  action_group:
    support: full
    membership: [virtcloud.core.host]
    description: Use C(group/virtcloud.core.host) in C(module_defaults) to set defaults for this module.
"""

    GROUP_NONE = r"""
options: {}
attributes:
  action_group:
    support: none
    membership: []
    description: In no action group; set its defaults with C(module_defaults) on the module itself.
"""
