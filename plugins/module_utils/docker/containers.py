# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_containers: many containers in one task, on the single-container service and the shared
batch engine (common/batch.py). The engine reads one listing for all items (ContainerService.
read_batch), plans every item before anything changes and applies them eight at a time; this
file only says what the module's task-level states mean:

- merged: the items are reconciled, options they omit are left alone;
- replaced: options an item omits are reset to the defaults of a new container;
- overridden: replaced, and the containers this task's `owner` created earlier that the list no
  longer names are removed (every container docker_containers creates records its owner in a
  label; containers made otherwise are never touched);
- deleted: the listed containers are removed.
"""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import Batch
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.docker import names
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import DEFAULTS, OWNER_LABEL


class ContainersBatch(Batch):
    options = {
        "state": state_opt(["merged", "replaced", "overridden", "deleted"], default="merged"),
        "stop_timeout": Opt(type="int", default=10),
        "owner": Opt(default="default"),
    }

    def __init__(self, service, option, params=None):
        super().__init__(service, option, params)
        # a label value: the rules of a container name suit it (and keep it readable)
        names.object_name("network", self.params.get("owner"), "owner")

    def items(self, items):
        if self.params["state"] != "deleted":
            return items
        return [{"name": item.get("name"), "state": "absent"} if isinstance(item, dict) else item for item in items]

    def adjust(self, desired):
        desired = dict(desired, owner=self.params["owner"])  # recorded on the containers it creates
        if self.params["state"] in ("replaced", "overridden") and desired["state"] != "absent":
            desired.update((k, v) for k, v in DEFAULTS.items() if desired.get(k) is None)
        return desired

    def extra(self, batch, desireds):
        """state=overridden: the containers this task's owner created that the list does not name.
        A name with a '/' is a link alias, not a container."""
        if self.params["state"] != "overridden":
            return []
        listed = {desired["name"] for desired in desireds}
        return [{"name": name, "state": "absent", "stop_timeout": self.params["stop_timeout"]}
                for name, entry in sorted(batch.containers.items())
                if (entry.get("Labels") or {}).get(OWNER_LABEL) == self.params["owner"]
                and name not in listed and "/" not in name]
