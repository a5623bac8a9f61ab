# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A classic LXC container: created from a template or cloned from another container, its
configuration keys and network, its run state (started, stopped, frozen), named snapshots.

Keys and values are checked by liblxc itself before anything is touched: each is set on an
in-memory container object that is never saved and read back, which also gives the form LXC
stores it in (what the container's own value is compared with). Only keys the task names are
managed. The steps of a run, in order: stop (when the task stops the container), create or
clone, restore a snapshot, write the configuration, take a snapshot, start / freeze / thaw.
"""

from __future__ import annotations

import json
import os
import tempfile

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.wait import wait_for
from ansible_collections.virtcloud.core.plugins.module_utils.lxc import model
from ansible_collections.virtcloud.core.plugins.module_utils.lxc.client import LxcService, lxc

TEMPLATES = "/usr/share/lxc/templates"
# beside the container's config: which snapshot the container was last restored from (restores
# are actions; this makes a rerun of the same restore a no-op)
RESTORED = "virtcloud-restored.json"
RUNNING = ("running", "frozen")
STATES = ["present", "started", "stopped", "restarted", "frozen", "absent"]


class ContainerService(LxcService):
    result_key = "container"
    options = {
        "name": name_opt(),
        "state": state_opt(STATES, default="started"),
        "template": Opt(),
        "template_options": Opt(type="list", elements="str"),
        "backing_store": Opt(choices=["dir", "overlayfs", "btrfs", "zfs", "lvm", "loop", "best"]),
        "source": Opt(),
        "copy_on_write": Opt(type="bool", default=True),
        "config": Opt(type="dict"),
        "config_append": Opt(type="bool", default=False),
        "network": Opt(type="raw"),
        "snapshot": Opt(),
        "restore_snapshot": Opt(),
        "timeout": Opt(type="int", default=60, parse=validate.seconds),
    }
    module_kwargs = {"mutually_exclusive": [("template", "source"), ("snapshot", "restore_snapshot")],
                     "required_by": {"template_options": "template"}}

    # ------------------------------------------------------------ desired
    def desired(self):
        p = self.params
        desired = self.parsed()
        desired["name"] = model.name(p["name"], "name")
        if p["source"] is not None:
            desired["source"] = model.name(p["source"], "source")
            if desired["source"] == desired["name"]:
                raise InputError("source", "a container cannot be cloned from itself")
        for option in ("snapshot", "restore_snapshot"):
            if p[option] is not None:
                desired[option] = model.name(p[option], option)
        config = model.config_keys(p["config"])
        network = model.network(p["network"], "network")
        if network is not None:
            taken = sorted(key for key in config if key.startswith("lxc.net."))
            if taken:
                raise InputError("config", "%s: the network option sets this container's network; set it there, "
                                           "or leave network out and give all lxc.net keys in config" % ", ".join(taken))
            network = {suffix: self.lxc_form(model.NET + suffix, [value], "network")
                       for suffix, value in network.items()}
        desired["config"] = {key: self.lxc_form(key, values, "config") for key, values in config.items()}
        desired["network"] = network
        if p["template"] is not None and (not p["template"] or "\n" in p["template"]):
            raise InputError("template", "%r is not a template name or path, e.g. busybox" % (p["template"],))
        return desired

    def lxc_form(self, key, values, option):
        """What liblxc makes of `values` (None: the key unset) for `key`, in the form it reports the
        container's own: a string, or a list for a repeating key. InputError when LXC refuses either."""
        scratch = self.scratch()
        index = key[len("lxc.net."):].split(".", 1)[0] if key.startswith("lxc.net.") else ""
        if index.isdigit():
            scratch.append_config_item("lxc.net.%s.type" % index, "veth")  # a network for the key to belong to
        if index.isdigit() and key == "lxc.net.%s.type" % index and not values:
            return ""  # no such network
        if not scratch.clear_config_item(key):
            raise InputError(option, "%s is not a key LXC knows (lxc.container.conf(5) lists them)" % key)
        for value in values or []:
            if not scratch.append_config_item(key, value):
                try:
                    scratch.get_config_item(key)
                except KeyError:
                    raise InputError(option, "%s is not a key LXC knows (lxc.container.conf(5) lists them)" % key)
                raise InputError(option, "LXC refuses %s = %r" % (key, value))
        try:
            return scratch.get_config_item(key)
        except KeyError:  # clearing a network's key clears the network
            return ""

    # ------------------------------------------------------------ observed
    def observe(self, desired, batch=None):
        container = self.container(desired["name"])
        if not container.defined:
            return None
        return self.read(container, desired, os.path.join(self.lxcpath, desired["name"], RESTORED))

    def read(self, container, desired, restored=None):
        """A container's (a snapshot's, LXC's default) state: run state, the managed keys, network 0, snapshots."""
        state = {"name": desired["name"], "state": container.state.lower(),
                 "config": {key: self.get(container, key) for key in desired["config"]},
                 "network": self.net(container), "networks": len(model.single(self.get(container, "lxc.net"))),
                 "snapshots": [], "restored_from": None}
        for lxc_name, comment, created, path in (container.snapshot_list() if container.defined else ()):
            state["snapshots"].append({"name": _comment(comment) or lxc_name, "lxc_name": lxc_name,
                                       "created": created, "path": os.path.join(path, lxc_name)})
        if restored:
            try:
                with open(restored) as handle:
                    state["restored_from"] = json.load(handle)
            except (OSError, ValueError):
                pass
        return state

    @staticmethod
    def get(container, key):
        try:
            return container.get_config_item(key)
        except KeyError:  # a key of a network the container does not have
            return ""

    def net(self, container):
        """Network 0 as {key suffix: value}, {} when the container has no network."""
        if not model.single(self.get(container, "lxc.net")):
            return {}
        return {suffix: self.get(container, model.NET + suffix) for suffix in model.NETWORK_KEYS.values()}

    # ------------------------------------------------------------ resolve: what the host has
    def resolve(self, desired, observed, batch=None):
        resolved = dict(desired, cgroups=self.cgroups(), restore=None, new=None)
        state = desired["state"]
        if state == "absent":
            return resolved
        if observed is None:
            self._check_create(desired)
            resolved["new"] = self._new(desired)
        if desired["network"] and desired["network"].get("type") == "veth" and state in ("started", "frozen", "restarted"):
            link = desired["network"]["link"]
            if not os.path.exists(os.path.join("/sys/class/net", link)):
                raise InputError("network.link", "host interface %s does not exist; create the bridge first" % link)
        if desired["restore_snapshot"] is not None:
            resolved["restore"] = self._snapshot(desired, observed)
        if observed is None:
            return resolved
        snapshot = desired["snapshot"] is not None and desired["snapshot"] not in [s["name"] for s in observed["snapshots"]]
        restore = resolved["restore"] is not None and not _restored(observed, resolved["restore"])
        if (snapshot or restore) and observed["state"] in RUNNING and state != "stopped":
            raise InputError("snapshot" if snapshot else "restore_snapshot",
                             "container %s is %s; LXC snapshots and restores a stopped container: add state: "
                             "stopped to this task" % (desired["name"], observed["state"]))
        return resolved

    def _check_create(self, desired):
        name = desired["name"]
        if desired["template"] is None and desired["source"] is None:
            raise InputError("template", "container %s does not exist: give a template (e.g. busybox) or a source "
                                         "container to create it from" % name)
        if desired["restore_snapshot"] is not None:
            raise InputError("restore_snapshot", "container %s does not exist, so it has no snapshot to restore" % name)
        if desired["template"] is not None:
            template = desired["template"]
            path = template if "/" in template else os.path.join(TEMPLATES, "lxc-" + template)
            if not os.access(path, os.X_OK):
                known = sorted(n[4:] for n in os.listdir(TEMPLATES) if n.startswith("lxc-")) \
                    if os.path.isdir(TEMPLATES) else []
                raise InputError("template", "LXC has no template %r (%s); templates here: %s"
                                 % (template, path, ", ".join(known) or "none"))
        if desired["source"] is not None:
            source = self.container(desired["source"])
            if not source.defined:
                raise InputError("source", "container %s to clone %s from does not exist" % (desired["source"], name))
            if source.state.lower() != "stopped":
                raise InputError("source", "container %s is %s; LXC clones a stopped container (a template)"
                                 % (desired["source"], source.state.lower()))

    def _new(self, desired):
        """What a new container starts from, for the prediction: the source's configuration for a
        clone; for a template, LXC's default configuration (lxc.default_config), which lxc-create
        starts from (the template's own additions are not known before it runs)."""
        if desired["source"] is not None:
            start = self.read(self.container(desired["source"]), desired)
        else:
            scratch = self.scratch()
            path = lxc.get_global_config_item("lxc.default_config")
            if path and os.path.exists(path):
                scratch.load_config(path)
            start = self.read(scratch, desired)
        return dict(start, name=desired["name"], state="stopped", snapshots=[], restored_from=None)

    def _snapshot(self, desired, observed):
        """The snapshot to restore, with the state the container will have after the restore."""
        wanted = desired["restore_snapshot"]
        snapshots = observed["snapshots"]
        found = [s for s in snapshots if s["name"] == wanted] or [s for s in snapshots if s["lxc_name"] == wanted]
        if not found:
            raise InputError("restore_snapshot", "container %s has no snapshot %s; it has %s"
                             % (desired["name"], wanted, ", ".join(s["name"] for s in snapshots) or "none"))
        snapshot = found[-1]
        saved = self.read(self.container(snapshot["lxc_name"], os.path.dirname(snapshot["path"])), desired)
        return {"name": wanted, "lxc_name": snapshot["lxc_name"], "created": snapshot["created"],
                "config": saved["config"], "network": saved["network"], "networks": saved["networks"]}

    @staticmethod
    def cgroups():
        """The cgroup controllers of this host by version, for what can be changed on a running container."""
        def text(path):
            try:
                with open(path) as handle:
                    return handle.read()
            except OSError:
                return ""
        unified = text("/sys/fs/cgroup/cgroup.controllers") or text("/sys/fs/cgroup/unified/cgroup.controllers")
        return model.cgroup_layout(text("/proc/cgroups"), unified)

    # ------------------------------------------------------------ plan
    def facts(self, state):
        if not state:
            return state
        restored = state.get("restored_from")
        return {"name": state["name"], "state": state["state"], "config": state["config"],
                "network": model.network_facts(state["network"]),
                "snapshots": [s["name"] for s in state["snapshots"]],
                "restored_from": restored["snapshot"] if restored else None}

    def plan(self, desired, observed):
        name = desired["name"]
        if desired["state"] == "absent":
            return Plan.removal(observed, "destroy container %s" % name, lambda: self._destroy(name))
        plan = Plan(observed)
        after = dict(observed if observed is not None else desired["new"])
        target = desired["state"]
        if target == "stopped" and after["state"] in RUNNING:
            plan.step("stop container %s" % name, lambda: self._stop(name, desired["timeout"]))
            after["state"] = "stopped"
        if observed is None:
            self._create_step(plan, desired)
        restore = desired["restore"]
        if restore is not None and not _restored(observed, restore):
            plan.step("restore container %s from snapshot %s" % (name, restore["name"]),
                      lambda: self._restore(name, restore))
            after.update(config=restore["config"], network=restore["network"], networks=restore["networks"],
                         restored_from={"snapshot": restore["name"], "lxc_name": restore["lxc_name"],
                                        "created": restore["created"]})
        wanted = self._wanted(desired, after, observed is None)
        changed = sorted(key for key, value in wanted["config"].items() if after["config"].get(key) != value)
        net_changed = wanted["network"] is not None and not _same_network(wanted["network"], after)
        if changed or net_changed or observed is None and (wanted["config"] or wanted["network"]):
            live = after["state"] in RUNNING
            before = {"config": dict(after["config"]), "network": after["network"] if net_changed else None}
            what = changed + (["network"] if net_changed else [])
            plan.step("configure container %s%s" % (name, ": " + ", ".join(what) if what and observed else ""),
                      lambda: self._configure(name, wanted, live, desired["cgroups"], desired["config_append"]),
                      undo=(lambda: None) if observed is None else lambda: self._configure(name, before, False, {}, False),
                      undone="the configuration of container %s" % name)
            after["config"] = dict(after["config"], **wanted["config"])
            if wanted["network"] is not None:
                after["network"] = _network_after(wanted["network"], after["network"])
                after["networks"] = 1 if wanted["network"].get("type") == "empty" else max(after["networks"], 1)
            pending = [key for key in changed if not self._applies_live(key, live, desired["cgroups"])]
            pending += ["network"] if net_changed and live else []
            if pending and target not in ("stopped", "restarted"):
                plan.restart_required = True
                plan.warnings.append("container %s is running: restart it to apply %s" % (name, ", ".join(pending)))
            self._cgroup_warnings(plan, wanted["config"], desired["cgroups"])
        if desired["snapshot"] is not None and desired["snapshot"] not in [s["name"] for s in after["snapshots"]]:
            plan.step("snapshot container %s as %s" % (name, desired["snapshot"]),
                      lambda: self._snapshot_take(name, desired["snapshot"]))
            after["snapshots"] = after["snapshots"] + [{"name": desired["snapshot"], "lxc_name": None,
                                                        "created": None, "path": None}]
        self._run_state(plan, desired, after)
        plan.after = after
        return plan

    def _create_step(self, plan, desired):
        name = desired["name"]
        if desired["source"] is not None:
            how = "copy-on-write " if desired["copy_on_write"] else ""
            plan.step("clone container %s from %s (%scopy)" % (name, desired["source"], how),
                      lambda: self._clone(desired), undo=lambda: self._destroy(name),
                      undone="destroyed container %s" % name, partial=True)
        else:
            plan.step("create container %s from template %s" % (name, desired["template"]),
                      lambda: self._create(desired), undo=lambda: self._destroy(name),
                      undone="destroyed container %s" % name, partial=True)

    @staticmethod
    def _wanted(desired, after, new):
        """The managed keys as the run leaves them: with config_append, a list value adds the
        entries it names to those the key has."""
        config = dict(desired["config"])
        if desired["config_append"]:
            for key, value in config.items():
                have = after["config"].get(key)
                if isinstance(value, list) and not new:
                    have = model.single(have)
                    config[key] = have + [v for v in value if v not in have]
        return {"config": config, "network": desired["network"]}

    @staticmethod
    def _applies_live(key, live, cgroups):
        if not live or key in model.AUTOSTART_KEYS:
            return True
        return bool(model.live_cgroup(key, cgroups))

    @staticmethod
    def _cgroup_warnings(plan, config, cgroups):
        for key in sorted(config):
            found = model.cgroup_key(key)
            if found is not None and model.live_cgroup(key, cgroups) is False:
                plan.warnings.append("%s: this host has no cgroup v%d %s controller, so LXC cannot apply it here"
                                     % (key, found[0], found[1].split(".", 1)[0]))

    def _run_state(self, plan, desired, after):
        name, target, timeout = desired["name"], desired["state"], desired["timeout"]
        current = after["state"]
        if target == "restarted" and current in RUNNING:
            plan.step("stop container %s (restart)" % name, lambda: self._stop(name, timeout))
            current = "stopped"
        if target in ("started", "restarted") and current == "frozen":
            plan.step("thaw container %s" % name, lambda: self._thaw(name))
            current = "running"
        if target in ("started", "restarted", "frozen") and current not in RUNNING:
            plan.step("start container %s" % name, lambda: self._start(name, timeout))
            current = "running"
        if target == "frozen" and current != "frozen":
            plan.step("freeze container %s" % name, lambda: self._freeze(name))
            current = "frozen"
        after["state"] = current

    # ------------------------------------------------------------ apply
    def _create(self, desired):
        container = self.container(desired["name"])
        args = tuple(desired["template_options"] or ())
        backing = {"overlayfs": "overlay"}.get(desired["backing_store"], desired["backing_store"])
        self.call("create container %s from template %s" % (desired["name"], desired["template"]),
                  container, "create", desired["template"], 0, args, backing)

    def _clone(self, desired):
        source = self.container(desired["source"])
        flags = lxc.LXC_CLONE_SNAPSHOT if desired["copy_on_write"] else 0
        backing = {"overlayfs": "overlay"}.get(desired["backing_store"], desired["backing_store"])
        self.call("clone container %s from %s" % (desired["name"], desired["source"]), source, "clone",
                  desired["name"], self.lxcpath, flags, backing)

    def _configure(self, name, wanted, live, cgroups, append):
        """Write the managed keys and network 0 and save the config; on a running container, write
        the cgroup keys this host can change live too. With `append`, a list adds its missing entries."""
        container = self.container(name)
        for key, value in sorted(wanted["config"].items(), key=_network_types_first):
            values = model.single(value)
            if append and isinstance(value, list):
                have = model.single(self.get(container, key))
                values = have + [v for v in values if v not in have]
            # clearing a network's type removes the network with the keys written for it
            self._write(container, key, values, clear=not (values and _network_type(key)))
        network = wanted["network"]
        if network is not None:
            have = self.net(container)
            container.clear_config_item("lxc.net" if network.get("type") == "empty" else "lxc.net.0")
            keep = {k: v for k, v in have.items() if k == "hwaddr" and v and have.get("type") == network.get("type")}
            for suffix, value in dict(keep, **network).items():
                if value not in ("", None):
                    self._write(container, model.NET + suffix, model.single(value), clear=False)
        if not container.save_config():
            raise BackendError("saving the configuration of container %s failed (%s)"
                               % (name, container.config_file_name))
        if live:
            for key, value in sorted(wanted["config"].items()):
                found = model.cgroup_key(key)
                if found is not None and model.live_cgroup(key, cgroups):
                    for item in model.single(value):
                        if not container.set_cgroup_item(found[1], item):
                            raise BackendError("setting %s = %s on running container %s failed (saved in its "
                                               "config, applied at the next start)" % (key, item, name))

    @staticmethod
    def _write(container, key, values, clear=True):
        if clear:
            container.clear_config_item(key)
        for value in values:
            if not container.append_config_item(key, value):
                raise BackendError("LXC refused %s = %s for container %s" % (key, value, container.name))

    def _restore(self, name, restore):
        container = self.container(name)
        self.call("restore container %s from snapshot %s" % (name, restore["name"]), container,
                  "snapshot_restore", restore["lxc_name"])
        with open(os.path.join(self.lxcpath, name, RESTORED), "w") as handle:
            json.dump({"snapshot": restore["name"], "lxc_name": restore["lxc_name"], "created": restore["created"]},
                      handle)

    def _snapshot_take(self, name, snapshot):
        container = self.container(name)
        with tempfile.NamedTemporaryFile("w", prefix="virtcloud-lxc-", suffix=".comment") as comment:
            comment.write(snapshot + "\n")
            comment.flush()
            self.call("snapshot container %s as %s" % (name, snapshot), container, "snapshot", comment.name)

    def _start(self, name, timeout):
        container = self.container(name)
        # close_fds: the container's monitor must not keep the module's stdout (Ansible waits for it)
        self.call("start container %s" % name, container, "start", log=True, close_fds=True)
        wait_for(lambda: self._state(name), lambda s: s == "running", timeout,
                 "container %s to run" % name, interval=0.1,
                 fail=lambda s: "container %s stopped right after it started" % name if s == "stopped" else None)

    def _state(self, name):
        return self.container(name).state.lower()

    def _stop(self, name, timeout):
        container = self.container(name)
        if container.state.lower() == "frozen":
            self.call("thaw container %s" % name, container, "unfreeze")
        if not container.shutdown(timeout):  # a clean shutdown first; then LXC kills it
            self.call("stop container %s" % name, container, "stop", log=True)

    def _thaw(self, name):
        self.call("thaw container %s" % name, self.container(name), "unfreeze")

    def _freeze(self, name):
        self.call("freeze container %s" % name, self.container(name), "freeze")

    def _destroy(self, name):
        container = self.container(name)
        if not container.defined:
            return
        if container.state.lower() != "stopped":
            if container.state.lower() == "frozen":
                container.unfreeze()
            self.call("stop container %s" % name, container, "stop", log=True)
        for lxc_name, _comment_path, _created, _path in container.snapshot_list() or ():
            self.call("destroy snapshot %s of container %s" % (lxc_name, name), container, "snapshot_destroy", lxc_name)
        self.call("destroy container %s" % name, container, "destroy")


def _network_type(key):
    parts = key.split(".")
    return len(parts) == 4 and parts[:2] == ["lxc", "net"] and parts[2].isdigit() and parts[3] == "type"


def _network_types_first(item):
    """A network's type is written before its other keys: they belong to a network of a type."""
    return (not _network_type(item[0]), item[0])


def _comment(path):
    """A snapshot's comment: its first line is the name this module gave it."""
    try:
        with open(path) as handle:
            return handle.readline().strip()
    except (OSError, TypeError):
        return ""


def _restored(observed, restore):
    """Whether the container was last restored from this very snapshot (same name, same creation)."""
    mark = (observed or {}).get("restored_from") or {}
    return mark.get("lxc_name") == restore["lxc_name"] and mark.get("created") == restore["created"]


def _same_network(wanted, state):
    """Whether network 0 is as wanted; none: it is LXC's empty and the only network."""
    have = state["network"]
    if wanted.get("type") == "empty":
        return have.get("type") == "empty" and state["networks"] == 1
    return all(model.single(have.get(k)) == model.single(v) for k, v in wanted.items())


def _network_after(wanted, have):
    out = {suffix: "" for suffix in model.NETWORK_KEYS.values()}
    if have.get("type") == wanted.get("type") and have.get("hwaddr"):
        out["hwaddr"] = have["hwaddr"]
    out.update(wanted)
    return out
