# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker volumes: persistent, removed only on request, replaced only when explicitly allowed.

`recreate` says when a volume is replaced (its data is lost): never (a difference fails the task,
naming the option), options-changed (when the driver, its options or a label the task names
differ), always (on every run). Labels on the volume that the task does not name are no
difference (as in community.docker).
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import BOOLEANS, boolean

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import (
    Opt,
    Plan,
    differences,
    name_opt,
    state_opt,
)
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import names
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import (
    MANAGED_LABEL,
    MANAGED_VALUE,
    DockerService,
)
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import strings


RECREATE = ("never", "options-changed", "always")


def own_labels(labels):
    return {k: v for k, v in (labels or {}).items() if k != MANAGED_LABEL}


# labels the task does not name are no difference (as community.docker compares them), for
# volumes and networks alike: Docker changes neither in place
KEEP_OTHER_LABELS = {"labels": "allow_more_present"}


def recreate_mode(value, option):
    """never | options-changed | always; the booleans of the earlier bool option still work
    (true: options-changed, false: never)."""
    if isinstance(value, str) and value in RECREATE:
        return value
    if isinstance(value, bool) or (isinstance(value, str) and value.lower() in BOOLEANS):
        return "options-changed" if boolean(value) else "never"
    raise InputError(option, "%r is not one of %s" % (value, ", ".join(RECREATE)))


class VolumeService(DockerService):
    result_key = "volume"
    options = {
        "name": name_opt(parse=names.volume),
        "driver": Opt(default="local", update="recreate"),
        "driver_options": Opt(type="dict", aliases=["driver_opts"], update="recreate", parse=strings),
        "labels": Opt(type="dict", update="recreate", parse=strings),  # compared as KEEP_OTHER_LABELS says
        "state": state_opt(["present", "absent"]),
        "recreate": Opt(type="raw", default="never", parse=recreate_mode),
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
        changes = [] if observed is None else differences(self.options, desired, observed, KEEP_OTHER_LABELS)
        if changes and desired["recreate"] == "never":
            change = changes[0]
            raise InputError(change.option, "volume %s has %r, the task asks for %r; Docker cannot change a "
                                            "volume in place. Set recreate=options-changed to replace it (its "
                                            "data is lost)" % (name, change.before, change.after))
        if observed is not None and not changes and desired["recreate"] != "always":
            return plan
        # what the task does not set (options, labels it does not name) stays as it was
        after = dict(observed or {"name": name, "driver_options": {}, "labels": {}, "mountpoint": None, "scope": "local"})
        after.update({k: desired[k] for k in ("driver", "driver_options") if desired[k] is not None})
        after["labels"] = dict(after["labels"], **desired["labels"] or {})
        if observed is not None and observed["driver"] != after["driver"]:
            after["mountpoint"] = None  # another driver decides where the data lies
        if observed is not None:
            plan.step("remove volume %s (recreate)" % name, lambda: self.api.remove_volume(name),
                      undo=lambda: self._create(observed))  # the old definition; its data is lost
        plan.step("create volume %s" % name, lambda: self._create(after), undo=lambda: self.api.remove_volume(name))
        plan.after = after
        return plan

    def _create(self, spec):
        labels = dict(spec["labels"], **{MANAGED_LABEL: MANAGED_VALUE})
        self.api.create_volume(spec["name"], driver=spec["driver"], driver_opts=spec["driver_options"] or None,
                               labels=labels)
