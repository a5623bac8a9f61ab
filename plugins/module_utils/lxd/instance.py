# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LXD instances (containers, and virtual machines where the host runs them): created from a local
image, changed in place (one PUT of the instance's own config, devices, profiles; never recreated),
started, stopped, frozen, restarted, removed.

What is managed is what the task names: the config keys it sets (a key set to null is removed),
the devices it names (each exactly as given; null removes it; the other devices are kept unless
devices_exclusive), the ordered profile list, ephemeral and description. Keys LXD writes itself
(volatile.*: MAC addresses, UUIDs, idmaps; image.*: the source image) are never compared nor
touched. Keys that reach a running instance only on restart (instance_config.RESTART) are stored
and reported with restart_required.

One GET tells an instance's config, devices and status; the batch form (lxd_instances) reads them
for every instance with one listing (GET /1.0/instances?recursion=1), plus one listing of the
profiles and one of the images when an item needs them."""

from __future__ import annotations

import re

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import (
    Change,
    Opt,
    Plan,
    name_opt,
    state_opt,
)
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.wait import wait_for
from ansible_collections.virtcloud.core.plugins.module_utils.lxd import instance_config
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.objects import merged
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.client import (
    LxdError,
    LxdService,
    base_name,
    name_path,
)

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,62}")
STATUS = {"Running": "started", "Stopped": "stopped", "Frozen": "frozen"}
# what PUT /1.0/instances/<name> takes: the instance's writable fields
WRITABLE = ("architecture", "config", "devices", "ephemeral", "profiles", "stateful", "description")


def instance_name(value, option):
    """An LXD instance name: a host name label (letters, digits, '-'), starting with a letter."""
    if not isinstance(value, str) or not _NAME.fullmatch(value) or value.endswith("-"):
        raise InputError(option, "%r is not an LXD instance name: 1 to 63 letters, digits and '-', starting with a "
                                 "letter and not ending with '-', e.g. web-1" % (value,))
    return value


def state_of(raw):
    """An instance as LXD returns it (GET /1.0/instances/<name>, or an entry of the listing),
    normalised: its own config without the keys LXD generates, its own devices and profiles."""
    config = raw.get("config") or {}
    return {
        "name": raw["name"],
        "type": raw.get("type") or "container",
        "state": STATUS.get(raw.get("status"), (raw.get("status") or "unknown").lower()),
        "config": {k: v for k, v in config.items() if not k.startswith(instance_config.GENERATED)},
        "devices": raw.get("devices") or {},
        "profiles": list(raw.get("profiles") or []),
        "ephemeral": bool(raw.get("ephemeral")),
        "description": raw.get("description") or "",
        "architecture": raw.get("architecture"),
        "image": config.get("volatile.base_image"),
    }


class Survey:
    """What one read tells about every item of a batch: the instances, and where items need them,
    the profile names and the images."""

    def __init__(self, instances, profiles=None, images=None):
        self.instances = instances
        self.profiles = profiles
        self.images = images


class InstanceService(LxdService):
    result_key = "instance"
    batch_workers = 8
    options = {
        "name": name_opt(parse=instance_name),
        "type": Opt(choices=["container", "virtual-machine"]),  # checked by resolve: LXD cannot change it
        "image": Opt(),  # used to create the instance only
        "config": Opt(type="dict", parse=instance_config.config),  # compared by plan: the keys set
        "devices": Opt(type="dict", parse=instance_config.devices),  # compared by plan: the devices named
        "devices_exclusive": Opt(type="bool", default=False),
        "profiles": Opt(type="list", elements="str", update="live"),
        "ephemeral": Opt(type="bool", update="live"),
        "description": Opt(update="live"),
        "state": state_opt(["started", "stopped", "frozen", "restarted", "present", "absent"], default="started"),
        "force_stop": Opt(type="bool", default=False),
        "stop_timeout": Opt(type="int", default=30, parse=validate.seconds),
    }

    # ------------------------------------------------------------ desired / observed
    def desired(self):
        desired = super().desired()
        instance_config.for_type(desired["config"], desired["type"] or "container")
        for index, profile in enumerate(desired["profiles"] or []):
            if not profile:
                raise InputError("profiles[%d]" % index, "a profile name cannot be empty")
        if desired["profiles"] is not None and len(set(desired["profiles"])) != len(desired["profiles"]):
            raise InputError("profiles", "%s names a profile twice" % desired["profiles"])
        if desired["image"] is not None and not desired["image"].strip():
            raise InputError("image", "give a local image alias or fingerprint")
        return desired

    @classmethod
    def read_batch(cls, service, desireds):
        lxd = service.lxd
        instances = {raw["name"]: raw for raw in lxd.get("/1.0/instances", {"recursion": 1}) or []}
        live = [d for d in desireds if d["state"] != "absent"]
        profiles = images = None
        if any(d["profiles"] for d in live):
            profiles = {base_name(url) for url in lxd.get("/1.0/profiles") or []}
        if any(d["image"] and d["name"] not in instances for d in live):
            images = lxd.get("/1.0/images", {"recursion": 1}) or []
        return Survey(instances, profiles, images)

    def observe(self, desired, batch=None):
        if batch is not None:
            raw = batch.instances.get(desired["name"])
        else:
            raw = self.lxd.get(name_path("instances", desired["name"]))
        return None if raw is None else state_of(raw)

    # ------------------------------------------------------------ lookups
    def resolve(self, desired, observed, batch=None):
        if desired["state"] == "absent":
            return desired
        name = desired["name"]
        if observed is not None and desired["type"] not in (None, observed["type"]):
            raise InputError("type", "instance %s is a %s; LXD cannot change the type of an instance: remove it "
                                     "first (state: absent)" % (name, observed["type"]))
        if desired["profiles"]:
            have = batch.profiles if batch is not None and batch.profiles is not None else \
                {base_name(url) for url in self.lxd.get("/1.0/profiles") or []}
            missing = [p for p in desired["profiles"] if p not in have]
            if missing:
                raise InputError("profiles", "LXD has no profile %s (it has %s); create it first"
                                 % (", ".join(missing), ", ".join(sorted(have)) or "none"))
        ephemeral = desired["ephemeral"] if desired["ephemeral"] is not None else (observed or {}).get("ephemeral")
        if ephemeral and desired["state"] == "stopped" and (observed or {}).get("state") in ("started", "frozen"):
            raise InputError("state", "instance %s is ephemeral: LXD deletes it when it stops. Use state: absent, "
                                      "or ephemeral: false" % name)
        if observed is not None:
            return desired
        if not desired["image"]:
            raise InputError("image", "instance %s does not exist: give the local image (alias or fingerprint) "
                                      "to create it from" % name)
        kind = desired["type"] or "container"
        drivers = [d.strip() for d in (self.lxd.info.get("environment") or {}).get("driver", "").split("|")]
        if kind == "virtual-machine" and "qemu" not in drivers:
            raise InputError("type", "this LXD host cannot run virtual machines (its instance drivers: %s; LXD "
                                     "needs QEMU for them); use type: container" % ", ".join(drivers))
        image = self._image(desired["image"], batch)
        if image.get("type", "container") != kind:
            raise InputError("image", "%s is a %s image; a %s needs a %s image"
                             % (desired["image"], image.get("type"), kind, kind))
        return {**desired, "type": kind, "fingerprint": image["fingerprint"],
                "architecture": image.get("architecture")}

    def _image(self, ref, batch):
        """The image a local alias or (partial) fingerprint names, or InputError naming `image`."""
        if batch is not None and batch.images is not None:
            found = [i for i in batch.images if any(a.get("name") == ref for a in i.get("aliases") or [])]
            found = found or [i for i in batch.images if i["fingerprint"].startswith(ref.lower())]
            image = found[0] if len(found) == 1 else None
        else:
            alias = self.lxd.get(name_path("images/aliases", ref))
            image = self.lxd.get(name_path("images", alias["target"] if alias else ref.lower()))
        if image is None:
            raise InputError("image", "LXD has no local image with the alias or fingerprint %r: import it first "
                                      "(for example with lxc image import or lxc image copy)" % ref)
        return image

    # ------------------------------------------------------------ plan
    def plan(self, desired, observed):
        name = desired["name"]
        plan = Plan(observed)
        if desired["state"] == "absent":
            plan.after = None
            if observed is not None:
                self._removal(plan, observed)
            return plan
        if observed is None:
            current = self._creation(plan, desired)
        else:
            current = observed["state"]
            self._update(plan, desired, observed)
        self._run_state(plan, name, current, desired)
        return plan

    def _creation(self, plan, desired):
        name = desired["name"]
        config = {k: v for k, v in (desired["config"] or {}).items() if v is not None}
        devices = {k: v for k, v in (desired["devices"] or {}).items() if v is not None}
        body = {"name": name, "type": desired["type"], "source": {"type": "image", "fingerprint": desired["fingerprint"]},
                "config": config, "devices": devices, "ephemeral": bool(desired["ephemeral"]),
                "description": desired["description"] or ""}
        if desired["profiles"] is not None:
            body["profiles"] = desired["profiles"]
        plan.after = {"name": name, "type": desired["type"], "state": "stopped", "config": config, "devices": devices,
                      "profiles": list(desired["profiles"] if desired["profiles"] is not None else ["default"]),
                      "ephemeral": bool(desired["ephemeral"]), "description": desired["description"] or "",
                      "architecture": desired["architecture"], "image": desired["fingerprint"]}

        def create():
            try:
                self._write("POST", "/1.0/instances", body, "create instance %s" % name)
            except Exception as exc:
                # another run made it meanwhile: it is theirs (the engine plans again from it); any
                # other failure may leave a half-made record, which is ours to remove
                if "already exists" not in str(getattr(exc, "msg", exc)):
                    self._remove(name)
                raise

        plan.step("create instance %s from image %s" % (name, desired["image"]), create,
                  undo=lambda: self._remove(name), undone="removed instance %s again" % name)
        return "stopped"

    def _update(self, plan, desired, observed):
        name = desired["name"]
        after = plan.after
        named = dict(desired["devices"] or {})
        if desired["devices_exclusive"]:
            named.update((device, None) for device in observed["devices"] if device not in named)
        config = merged(observed["config"], desired["config"])
        devices = merged(observed["devices"], named)
        plan.changes.extend(Change("config." + key, observed["config"].get(key), config.get(key),
                                   instance_config.applies(key))
                            for key in desired["config"] or {} if config.get(key) != observed["config"].get(key))
        plan.changes.extend(Change("devices." + device, observed["devices"].get(device), devices.get(device), "live")
                            for device in named if devices.get(device) != observed["devices"].get(device))
        for key in ("profiles", "ephemeral", "description"):
            if desired[key] is not None and desired[key] != observed[key]:
                plan.changes.append(Change(key, observed[key], desired[key], "live"))
                after[key] = desired[key]
        if not plan.changes:
            return
        after.update(config=config, devices=devices)
        restart = sorted(c.option[len("config."):] for c in plan.changes if c.update == instance_config.RESTART)
        if restart and observed["state"] in ("started", "frozen") and desired["state"] in ("started", "frozen",
                                                                                           "present"):
            plan.restart_required = True
            plan.warnings.append("instance %s applies %s when it restarts (state: restarted restarts it)"
                                 % (name, ", ".join(restart)))
        writable = {"config": config, "devices": devices,
                    **{k: after[k] for k in ("profiles", "ephemeral", "description")}}
        before = {}

        def put():
            raw = self.lxd.get(name_path("instances", name))
            before.update((k, raw.get(k)) for k in WRITABLE)
            generated = {k: v for k, v in (raw.get("config") or {}).items() if k.startswith(instance_config.GENERATED)}
            body = dict(before, **writable)
            body["config"] = {**generated, **writable["config"]}  # generated keys kept as they are
            self._write("PUT", name_path("instances", name), body, "update instance %s" % name)

        plan.step("update instance %s (%s)" % (name, ", ".join(c.option for c in plan.changes)), put,
                  undo=lambda: self._write("PUT", name_path("instances", name), before, "restore instance %s" % name),
                  undone="restored the config of instance %s" % name)

    def _run_state(self, plan, name, current, desired):
        """Steps from the run state `current` to the state the task asks for."""
        target = desired["state"]
        if target == "present":
            return
        actions = []
        if target == "restarted":
            actions = ["unfreeze", "restart"] if current == "frozen" else ["restart"] if current == "started" \
                else ["start"]
        elif target == "started":
            actions = ["unfreeze"] if current == "frozen" else [] if current == "started" else ["start"]
        elif target == "frozen":
            actions = [] if current == "frozen" else ["freeze"] if current == "started" else ["start", "freeze"]
        elif target == "stopped" and current != "stopped":
            actions = ["stop"]
        for action in actions:
            plan.step("%s instance %s" % (action, name), lambda a=action: self._act(name, a, desired))
        if plan.after is not None:
            plan.after["state"] = "started" if target == "restarted" else target

    def _removal(self, plan, observed):
        name = observed["name"]
        if observed["state"] != "stopped" and observed["ephemeral"]:
            plan.step("stop instance %s (ephemeral: LXD deletes it)" % name, lambda: self._remove(name))
            return
        if observed["state"] != "stopped":
            plan.step("stop instance %s (force)" % name, lambda: self._act(name, "stop", {"force_stop": True}))
        plan.step("delete instance %s" % name, lambda: self._remove(name))

    # ------------------------------------------------------------ writes
    def _act(self, name, action, desired):
        body = {"action": action, "timeout": desired.get("stop_timeout") or 30}
        if action == "stop" or action == "restart":
            body["force"] = bool(desired.get("force_stop"))
        self._unbusy(lambda: self.lxd.call("PUT", name_path("instances", name) + "/state", body,
                                           what="%s instance %s" % (action, name)), "%s instance %s" % (action, name))

    def _remove(self, name):
        """Stop (force) and delete the instance, whatever state it is in; gone already is fine."""
        path = name_path("instances", name)
        raw = self.lxd.get(path)
        if raw is None:
            return
        if raw.get("status") != "Stopped":
            self.lxd.call("PUT", path + "/state", {"action": "stop", "force": True, "timeout": 30},
                          what="stop instance %s" % name)
            if raw.get("ephemeral"):  # LXD deletes it itself once stopped
                wait_for(lambda: self.lxd.get(path), lambda r: r is None, self.lxd.timeout,
                         "LXD to delete the ephemeral instance %s" % name, interval=0.1,
                         describe=lambda r: r and r.get("status"))
                return
        try:
            self._unbusy(lambda: self.lxd.call("DELETE", path, what="delete instance %s" % name),
                         "delete instance %s" % name)
        except LxdError as exc:
            if exc.status != 404:
                raise

    def _unbusy(self, call, what):
        """`call()`, again while LXD says the instance is busy with another operation (a create or
        start of another run, the stop LXD makes itself after a failed start), up to the timeout."""
        def attempt():
            try:
                call()
            except (LxdError, BackendError) as exc:
                if "is busy running" in (getattr(exc, "message", None) or exc.msg):
                    return False
                raise
            return True

        wait_for(attempt, bool, self.lxd.timeout, "LXD to %s (busy with another operation)" % what, interval=0.2)

    def _write(self, method, path, body, what):
        """A write LXD validates: a refusal of the config or devices names that option."""
        try:
            return self.lxd.call(method, path, body, what=what)
        except (LxdError, BackendError) as exc:
            text = getattr(exc, "message", None) or exc.msg
            if "Invalid devices" in text or "Device validation" in text or 'for device "' in text:
                raise InputError("devices", "LXD refused them: %s" % text)
            if "Invalid config" in text or "configuration key" in text or "Invalid value" in text \
                    or "Invalid raw." in text:
                raise InputError("config", "LXD refused it: %s" % text)
            raise
