# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_containers: many containers in one task, on the single-container service and the shared
batch engine (common/batch.py). The engine reads one listing for all items (ContainerService.
read_batch), plans every item before anything changes and applies them eight at a time; this
file only says what the module's task-level states mean:

- merged: the items are reconciled, options they omit are left alone;
- replaced: options an item omits are reset to the defaults of a new container;
- overridden: replaced, and containers carrying the ownership label that are not listed are removed
  (containers this collection did not create are never touched);
- deleted: the listed containers are removed.
"""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import Batch
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import MANAGED_LABEL, MANAGED_VALUE
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import DEFAULTS, SPEC_LABEL


class ContainersBatch(Batch):
    options = {
        "state": state_opt(["merged", "replaced", "overridden", "deleted"], default="merged"),
        "stop_timeout": Opt(type="int", default=10),
    }

    def items(self, items):
        if self.params["state"] != "deleted":
            return items
        return [{"name": item.get("name"), "state": "absent"} if isinstance(item, dict) else item for item in items]

    def adjust(self, desired):
        if self.params["state"] in ("replaced", "overridden") and desired["state"] != "absent":
            return dict(desired, **{k: v for k, v in DEFAULTS.items() if desired.get(k) is None})
        return desired

    def extra(self, batch, desireds):
        """state=overridden: the containers this collection created that the list does not name.
        A container inherits its image's labels, and images built here carry the ownership label
        too, so the spec digest (set on containers only) must be there as well. A name with a '/'
        is a link alias, not a container."""
        if self.params["state"] != "overridden":
            return []
        listed = {desired["name"] for desired in desireds}
        return [{"name": name, "state": "absent", "stop_timeout": self.params["stop_timeout"]}
                for name, entry in sorted(batch.containers.items())
                if (entry.get("Labels") or {}).get(MANAGED_LABEL) == MANAGED_VALUE
                and SPEC_LABEL in (entry.get("Labels") or {}) and name not in listed and "/" not in name]
