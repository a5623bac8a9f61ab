# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker volumes: persistent, removed only on request, replaced only when explicitly allowed."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, differences, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import names
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import (
    MANAGED_LABEL,
    MANAGED_VALUE,
    DockerService,
)
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import strings


def own_labels(labels):
    return {k: v for k, v in (labels or {}).items() if k != MANAGED_LABEL}


class VolumeService(DockerService):
    result_key = "volume"
    options = {
        "name": name_opt(parse=names.volume),
        "driver": Opt(default="local", update="recreate"),
        "driver_options": Opt(type="dict", aliases=["driver_opts"], update="recreate", parse=strings),
        "labels": Opt(type="dict", update="recreate", parse=strings),
        "state": state_opt(["present", "absent"]),
        "recreate": Opt(type="bool", default=False),
    }

    def observe(self, desired, batch=None):
        info = self.inspect("volume", desired["name"])
        if info is None:
            return None
        return {"name": info["Name"], "driver": info["Driver"], "driver_options": info.get("Options") or {},
                "labels": own_labels(info.get("Labels")), "mountpoint": info.get("Mountpoint"),
                "scope": info.get("Scope")}

    def plan(self, desired, observed):
        name = desired["name"]
        if desired["state"] == "absent":
            return Plan.removal(observed, "remove volume %s" % name, lambda: self.api.remove_volume(name))
        plan = Plan(observed)
        changes = [] if observed is None else differences(self.options, desired, observed)
        if changes and not self.params["recreate"]:
            change = changes[0]
            raise InputError(change.option, "volume %s has %r, the task asks for %r; Docker cannot change a "
                                            "volume in place. Set recreate=true to replace it (its data is lost)"
                             % (name, change.before, change.after))
        if observed is not None and not changes:
            return plan
        if observed is not None:
            plan.step("remove volume %s (recreate)" % name, lambda: self.api.remove_volume(name))
        plan.step("create volume %s" % name, lambda: self._create(desired),
                  undo=lambda: self.api.remove_volume(name))
        plan.after = {"name": name, "driver": desired["driver"], "driver_options": desired["driver_options"] or {},
                      "labels": desired["labels"] or {}, "mountpoint": None, "scope": "local"}
        return plan

    def _create(self, desired):
        labels = dict(desired["labels"] or {}, **{MANAGED_LABEL: MANAGED_VALUE})
        self.api.create_volume(desired["name"], driver=desired["driver"],
                               driver_opts=desired["driver_options"], labels=labels)
