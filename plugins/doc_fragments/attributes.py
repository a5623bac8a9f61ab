# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The attributes of the modules (ansible-core's check_mode, diff_mode, platform, action_group).

One fragment for how a module runs (DOCUMENTATION: a stateful module of the shared engine; INFO: a
read-only *_info module; COMMAND: a module that runs a command) and one for the action groups of
meta/runtime.yml it belongs to (GROUP_DOCKER, GROUP_LIBVIRT, GROUP_LIBVIRT_OVA, GROUP_OVA, GROUP_LXD, GROUP_LXC,
GROUP_HOST, or GROUP_NONE). Not DOCKER, LIBVIRT, ...: ansible-core resolves virtcloud.core.attributes.docker
to the fragment virtcloud.core.docker.
tests/unit/test_module_attributes.py checks them against the engine and meta/runtime.yml."""

from __future__ import annotations

PLATFORM = r"""
  platform:
    support: full
    platforms: posix
    description: Runs on the managed host, a Linux host with the backend it manages.
"""


def modes(check_mode, diff_mode):
    """A fragment with the check_mode and diff_mode attributes (and the platform)."""
    return "\noptions: {}\nattributes:" + check_mode + diff_mode + PLATFORM


def groups(*names):
    """A fragment with the action_group attribute: membership of the groups `names` of meta/runtime.yml."""
    if not names:
        return r"""
options: {}
attributes:
  action_group:
    support: none
    membership: []
    description: In no action group; set its defaults with C(module_defaults) on the module itself.
"""
    return r"""
options: {}
attributes:
  action_group:
    support: full
    membership: [%s]
    description: Use %s in C(module_defaults) to set defaults for this module.
""" % (", ".join("virtcloud.core." + name for name in names),
       " or ".join("C(group/virtcloud.core.%s)" % name for name in names))


class ModuleDocFragment:
    """Check and diff mode, platform and action groups."""

    # every stateful module of the shared engine (common/engine.py, common/batch.py)
    DOCUMENTATION = modes(r"""
  check_mode:
    support: full
    description: Predicts exactly what a real run would change, and changes nothing.
    details: Values only the backend assigns when it creates the object (an ID, a MAC address) are null in the prediction.
""", r"""
  diff_mode:
    support: full
    description: Returns the normalised object before and after the change (the prediction in check mode).
""")

    # the read-only *_info modules
    INFO = modes(r"""
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
""", r"""
  diff_mode:
    support: none
    description: Reads only; there is nothing to diff, and no diff is returned.
""")

    # modules that run a command (docker_container_exec)
    COMMAND = modes(r"""
  check_mode:
    support: partial
    description: Nothing runs in check mode.
    details:
      - C(changed) says whether the command would run (it would not when O(creates) exists). Its output
        and exit code cannot be predicted - C(stdout) and C(stderr) are empty and there is no C(rc).
""", r"""
  diff_mode:
    support: none
    description: A command has no state to diff; no diff is returned.
""")

    GROUP_DOCKER = groups("docker")
    GROUP_LIBVIRT = groups("libvirt")
    GROUP_LIBVIRT_OVA = groups("libvirt", "ova")
    GROUP_OVA = groups("ova")
    GROUP_LXD = groups("lxd")
    GROUP_LXC = groups("lxc")
    GROUP_HOST = groups("host")
    GROUP_NONE = groups()
