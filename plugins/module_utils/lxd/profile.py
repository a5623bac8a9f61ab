# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LXD profiles: description, config and devices, created, changed in place (LXD applies a profile
change to the instances using it), removed only while no instance uses it.

config: the keys the task names are managed (null removes one), others kept. devices: each device
the task names is set exactly as given (null removes it), devices it does not name are kept."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.lxd import objects


def devices(value, option):
    """{device: {key: value} or None} -> each device a map of text with its `type`, or None (removed)."""
    if value is None:
        return None
    out = {}
    for device, spec in value.items():
        where = "%s.%s" % (option, device)
        objects.name(device, option, "device")
        if spec is None:
            out[device] = None
            continue
        if not isinstance(spec, dict):
            raise InputError(where, "give the device as a map of its keys, e.g. {type: nic, network: lxdbr0}")
        out[device] = objects.text_map(spec, where, removable=False)
        if not out[device].get("type"):
            raise InputError(where, "every device has a type (nic, disk, proxy, unix-char, ...)")
    return out


class ProfileService(objects.ObjectService):
    result_key = "profile"
    kind = "profiles"
    what = "profile"
    maps = ("config", "devices")
    options = {
        "name": name_opt(parse=lambda value, option: objects.name(value, option, "profile")),
        "description": Opt(),
        "config": Opt(type="dict", parse=objects.text_map),
        "devices": Opt(type="dict", parse=devices),
        "state": state_opt(["present", "absent"]),
    }

    def resolve(self, desired, observed, batch=None):
        if desired["state"] == "absent" and desired["name"] == "default":
            raise InputError("name", "LXD keeps the default profile; it cannot be removed")
        return super().resolve(desired, observed, batch)
