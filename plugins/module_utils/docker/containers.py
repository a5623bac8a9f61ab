# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Many containers in one task, on the single-container service.

Every item is validated, normalised and planned by ContainerService (no second implementation);
this service only adds what makes a batch cheap and what resource-module states mean:

- one listing call (containers(all=True)) replaces one inspect per container; a container whose
  listing entry proves it matches (spec-digest label, image ID, run state) is not inspected;
- images and networks are looked up once for all items;
- containers are started concurrently, after every create / replace / stop step (dockerd spends
  most of a create-and-start in the start, and handles several at once);
- merged: the items are reconciled, options they omit are left alone;
  replaced: options an item omits are reset to the defaults of a new container;
  overridden: replaced, and containers carrying the ownership label that are not listed are removed
  (containers this collection did not create are never touched);
  deleted: the listed containers are removed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import item_desired, validate_items
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError, VirtcloudError
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import (
    MANAGED_LABEL,
    MANAGED_VALUE,
    DockerService,
)
from ansible_collections.virtcloud.core.plugins.module_utils.docker.container import (
    DEFAULTS,
    SPEC_LABEL,
    ContainerService,
    container_facts,
)


class ContainersService(DockerService):
    result_key = "containers"
    options = {
        "containers": Opt(type="list", elements="dict", required=True, update=None),
        "state": Opt(default="merged", choices=["merged", "replaced", "overridden", "deleted"], update=None),
        "stop_timeout": Opt(type="int", default=10, update=None),
    }

    def desired(self):
        self.items = []
        items = self.params["containers"]
        if self.params["state"] == "deleted":
            items = [{"name": item.get("name"), "state": "absent"} if isinstance(item, dict) else item
                     for item in items]
        connection = {k: self.params[k] for k in self.connection}
        for index, params in enumerate(validate_items(ContainerService, items, "containers")):
            service = ContainerService(dict(params, **connection))
            want = item_desired(service, "containers", index)
            if self.params["state"] in ("replaced", "overridden") and want["state"] != "absent":
                want.update((k, v) for k, v in DEFAULTS.items() if want.get(k) is None)
            self.items.append((service, want))
        names = [want["name"] for dummy, want in self.items]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise InputError("containers", "listed more than once: %s" % ", ".join(duplicates))
        return {"names": names, "state": self.params["state"]}

    def observe(self, desired):
        listing = {}
        for entry in self.api.containers(all=True):
            for name in entry.get("Names") or []:
                listing[name.lstrip("/")] = entry
        cache = {}
        observed = {}
        for service, want in self.items:
            service.api, service.listing, service.cache = self.api, listing, cache
            observed[want["name"]] = service.observe(want)
        self.extra = []
        if desired["state"] == "overridden":
            # Only what this collection created. A container inherits its image's labels, and images
            # built here carry the ownership label too, so the spec digest (set on containers only)
            # must be there as well. A name with a '/' is a link alias, not a container.
            self.extra = sorted(name for name, entry in listing.items()
                                if (entry.get("Labels") or {}).get(MANAGED_LABEL) == MANAGED_VALUE
                                and SPEC_LABEL in (entry.get("Labels") or {})
                                and name not in observed and "/" not in name)
        return {name: state for name, state in observed.items() if state is not None}

    def plan(self, desired, observed):
        plan = Plan(observed, after={})
        for name in self.extra:
            remover = ContainerService(dict({k: self.params[k] for k in self.connection}, name=name,
                                            stop_timeout=self.params["stop_timeout"]))
            remover.api = self.api
            plan.include(remover.plan({"name": name, "state": "absent"}, {"id": name}))
        for service, want in self.items:
            sub = service.plan(want, observed.get(want["name"]))
            plan.include(sub)
            if sub.after is not None:
                plan.after[want["name"]] = sub.after
        starts = [step for step in plan.steps if getattr(step, "starts", None)]
        if len(starts) > 1:
            # Each container keeps its own action; the first start step starts them all, the
            # others only report. A failure fails that first step, so the rollback removes what
            # this run created.
            plan.steps = [step for step in plan.steps if step not in starts] + starts
            run_all = [step.do for step in starts]
            starts[0].do = lambda: self._concurrently(run_all)
            for step in starts[1:]:
                step.do = lambda: None
        return plan

    @staticmethod
    def _concurrently(calls):
        # the docker client's connection pool holds 10 connections
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(call) for call in calls]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            first = errors[0]
            if len(errors) > 1 and isinstance(first, VirtcloudError):
                first.msg += " (%d more containers failed to start)" % (len(errors) - 1)
                first.args = (first.msg,)
            raise first

    def facts(self, state):
        return {name: container_facts(value) for name, value in state.items()}
