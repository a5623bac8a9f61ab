# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker containers: desired spec, normalised observation, plan (live update or safe recreate)."""

from __future__ import annotations

import shlex

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Change, Opt, Plan, differences
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import ports
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import (
    MANAGED_LABEL,
    MANAGED_VALUE,
    DockerService,
)

RESTART_POLICIES = ["no", "always", "on-failure", "unless-stopped"]


def _pairs(entries):
    """['K=V', ...] -> {'K': 'V'}"""
    out = {}
    for entry in entries or []:
        key, dummy, value = entry.partition("=")
        out[key] = value
    return out


def _own_values(container_values, image_values, desired_keys):
    """What the container itself sets: drop entries inherited unchanged from the image, unless the
    user asks for that key (then it is compared, so a value equal to the image's is still kept)."""
    return {k: v for k, v in container_values.items()
            if k in desired_keys or image_values.get(k) != v}


class ContainerService(DockerService):
    result_key = "container"
    options = {
        "name": Opt(required=True, update=None),
        "image": Opt(update=None),  # compared through the image ID it resolves to
        "command": Opt(type="raw"),
        "entrypoint": Opt(type="list", elements="str"),
        "env": Opt(type="dict"),
        "published_ports": Opt(type="list", elements="str", aliases=["ports"], compare="set"),
        "labels": Opt(type="dict"),
        "restart_policy": Opt(choices=RESTART_POLICIES, update="live"),
        "state": Opt(default="started", choices=["present", "started", "stopped", "absent"], update=None),
        "recreate": Opt(type="bool", default=False, update=None),
        "stop_timeout": Opt(type="int", default=10, update=None),
    }

    # ------------------------------------------------------------ desired
    def desired(self):
        p = self.params
        desired = {
            "name": p["name"],
            "image": p["image"],
            "command": self._argv("command", p["command"]),
            "entrypoint": p["entrypoint"],
            "env": self._strings("env", p["env"]),
            "published_ports": ports.parse_all(p["published_ports"]),
            "labels": self._strings("labels", p["labels"]),
            "restart_policy": p["restart_policy"],
            "state": p["state"],
            "recreate": p["recreate"],
        }
        if p["state"] != "absent":
            desired["running"] = {"started": True, "stopped": False}.get(p["state"])
        return desired

    @staticmethod
    def _argv(option, value):
        if value is None or isinstance(value, list):
            return None if value is None else [str(v) for v in value]
        if isinstance(value, str):
            try:
                return shlex.split(value)
            except ValueError as exc:
                raise InputError(option, "cannot split %r into arguments: %s" % (value, exc))
        raise InputError(option, "must be a string or a list of strings, got %r" % (value,))

    @staticmethod
    def _strings(option, mapping):
        if mapping is None:
            return None
        out = {}
        for key, value in mapping.items():
            if isinstance(value, bool) or value is None:
                raise InputError(option, "value of %r is %r; quote it so the container gets the "
                                         "exact string you mean (e.g. \"true\")" % (key, value))
            out[str(key)] = str(value)
        return out

    # ------------------------------------------------------------ observed
    def observe(self, desired):
        self.image = None
        if desired["state"] != "absent" and desired["image"]:
            self.image = self.inspect("image", desired["image"])
            if self.image is None:
                raise InputError("image", "image %r is not present on the Docker host; create it first "
                                          "(virtcloud.core.docker_image)" % desired["image"])
            desired["image_id"] = self.image["Id"]
        info = self.inspect("container", desired["name"])
        return None if info is None else self._normalise(info, desired)

    def _normalise(self, info, desired):
        config, host = info["Config"], info["HostConfig"]
        image = self.inspect("image", info["Image"]) or {"Config": {}}
        image_config = image.get("Config") or {}
        labels = _own_values(config.get("Labels") or {}, image_config.get("Labels") or {},
                             desired.get("labels") or {})
        labels.pop(MANAGED_LABEL, None)
        return {
            "id": info["Id"],
            "name": info["Name"].lstrip("/"),
            "image": config.get("Image"),
            "image_id": info["Image"],
            "command": config.get("Cmd"),
            "entrypoint": config.get("Entrypoint"),
            "env": _own_values(_pairs(config.get("Env")), _pairs(image_config.get("Env")),
                               desired.get("env") or {}),
            "published_ports": ports.from_host_config(host.get("PortBindings")),
            "labels": labels,
            "restart_policy": (host.get("RestartPolicy") or {}).get("Name") or "no",
            "running": bool(info["State"].get("Running")),
            "status": info["State"].get("Status"),
        }

    # ------------------------------------------------------------ plan
    def plan(self, desired, observed):
        name = desired["name"]
        if desired["state"] == "absent":
            return Plan.removal(observed, "remove container %s" % name, lambda: self._remove(observed["id"]))
        plan = Plan(observed)

        if observed is None or desired["recreate"]:
            plan.changes = [Change("container", None, name, "recreate")]
        else:
            plan.changes = differences(self.options, desired, observed)
            if desired.get("image_id") not in (None, observed["image_id"]):
                plan.changes.append(Change("image_id", observed["image_id"], desired["image_id"], "recreate"))
        recreate = any(c.update == "recreate" for c in plan.changes)
        if recreate and not desired["image"]:
            raise InputError("image", "required to create container %s" % name)

        plan.after = self._predict(desired, observed, recreate)
        if recreate:
            self._plan_create(plan, desired, observed)
        else:
            live = [c for c in plan.changes if c.update == "live"]
            if live:
                plan.step("update container %s (%s)" % (name, ", ".join(c.option for c in live)),
                          lambda: self.api.update_container(
                              name, restart_policy={"Name": desired["restart_policy"]}))
        running = plan.after["running"]
        was_running = bool(observed and observed["running"]) and not recreate
        if running and not was_running:
            plan.step("start container %s" % name, lambda: self._start(name))
        elif running is False and was_running:
            plan.step("stop container %s" % name, lambda: self.api.stop(name, timeout=self.params["stop_timeout"]))
        return plan

    def _predict(self, desired, observed, recreate):
        after = dict(observed or {}, status=None)
        if recreate:
            after.update(id=None, env={}, labels={}, command=None, entrypoint=None,
                         published_ports=[], restart_policy="no")
            image_config = self.image.get("Config") or {}
            after.update(command=image_config.get("Cmd"), entrypoint=image_config.get("Entrypoint"))
        after.update((k, v) for k, v in desired.items()
                     if v is not None and k in self.options and self.options[k].update is not None)
        after.update(name=desired["name"], image=desired["image"] or after.get("image"),
                     image_id=desired.get("image_id") or after.get("image_id"))
        running = desired.get("running")
        if running is None:  # state=present keeps the run state (a new container stays created)
            running = bool(observed and observed["running"])
        after["running"] = running
        return after

    def _plan_create(self, plan, desired, observed):
        """New container, or a safe replacement: the new one is created under a temporary name
        first, so a spec docker refuses leaves the old container untouched."""
        name = desired["name"]
        if observed is None:
            plan.step("create container %s" % name, lambda: self._create(desired, name),
                      undo=lambda: self._remove(name))
            return
        temp = "%s__virtcloud_new" % name
        plan.step("create replacement for container %s" % name,
                  lambda: self._create(desired, temp), undo=lambda: self._remove(temp))
        plan.step("remove old container %s" % name, lambda: self._remove(observed["id"]))
        plan.step("rename replacement to %s" % name, lambda: self.api.rename(temp, name))

    # ------------------------------------------------------------ apply
    def _create(self, desired, name):
        if self.inspect("container", name) is not None and name != desired["name"]:
            self._remove(name)  # leftover of an interrupted replacement
        exposed, bindings = ports.to_api(desired["published_ports"] or [])
        labels = dict(desired["labels"] or {}, **{MANAGED_LABEL: MANAGED_VALUE})
        host_config = self.api.create_host_config(
            port_bindings=bindings or None,
            restart_policy={"Name": desired["restart_policy"]} if desired["restart_policy"] else None)
        self.api.create_container(
            image=desired["image"], name=name, command=desired["command"],
            entrypoint=desired["entrypoint"],
            environment=["%s=%s" % kv for kv in sorted((desired["env"] or {}).items())] or None,
            labels=labels, ports=exposed or None, host_config=host_config)

    def _start(self, name):
        self.api.start(name)
        state = self.api.inspect_container(name)["State"]
        if not state.get("Running") and state.get("ExitCode"):
            logs = self.api.logs(name, tail=20).decode("utf-8", "replace").strip()
            raise BackendError("container %s exited with code %s right after start; last log lines:\n%s"
                               % (name, state["ExitCode"], logs))

    def _remove(self, ident):
        if self.inspect("container", ident) is None:
            return
        self.api.stop(ident, timeout=self.params["stop_timeout"])
        self.api.remove_container(ident, v=False)  # named volumes outlive the container

    # ------------------------------------------------------------ report
    def facts(self, state):
        facts = dict(state)
        facts["published_ports"] = [ports.display(b) for b in state.get("published_ports") or []]
        return facts
