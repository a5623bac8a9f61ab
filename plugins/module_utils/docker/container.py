# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker containers: desired spec, normalised observation, plan (live update or safe recreate)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import (
    Change,
    Opt,
    Plan,
    comparisons,
    differences,
    name_opt,
    normalise,
    state_opt,
)
from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.wait import WaitTimeout, wait_for
from ansible_collections.virtcloud.core.plugins.module_utils.docker import names, ports
from ansible_collections.virtcloud.core.plugins.module_utils.docker import container_runtime as runtime
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import (
    APIError,
    MANAGED_LABEL,
    MANAGED_VALUE,
    DockerService,
)

try:
    from docker.types import Mount
except ImportError:  # reported by the engine (DockerService.requirements)
    Mount = None

RESTART_POLICIES = ["no", "always", "on-failure", "unless-stopped"]
# Digest of the options that can only change by recreating; lets the batch module skip inspecting
# containers whose listing entry (labels, image ID, state) already proves they match.
SPEC_LABEL = "io.virtcloud.spec-digest"
# The `owner` of the docker_containers task that created the container (state=overridden removes
# the containers of its owner that the list no longer names, and no others).
OWNER_LABEL = "io.virtcloud.owner"
# Name of a replacement until it has started and the container it replaces is gone.
TEMP_NAME = "%s__virtcloud_new"
# Resource limits docker applies to a running container (POST /containers/{id}/update).
LIMITS = ("memory", "cpus", "pids_limit") + runtime.LIVE  # runtime: container_runtime.py
# What a container without the option has; used to predict a new container and, in the batch
# module's replaced/overridden states, to reset options the spec does not name.
DEFAULTS = {
    "env": {}, "labels": {}, "published_ports": [], "mounts": [], "cap_add": [], "cap_drop": [],
    "read_only": False, "memory": 0, "cpus": 0, "pids_limit": 0, "restart_policy": "no",
    "log_options": {}, "volumes_from": [],
    **runtime.DEFAULTS,  # runtime: container_runtime.py
}

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)")
_NS = {"ns": 1, "us": 10 ** 3, "ms": 10 ** 6, "s": 10 ** 9, "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9}


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


def argv(value, option):
    """A command as a list, or a string split like a shell would."""
    if value is None or isinstance(value, list):
        return None if value is None else [str(v) for v in value]
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise InputError(option, "cannot split %r into arguments: %s" % (value, exc))
    raise InputError(option, "must be a string or a list of strings, got %r" % (value,))


def strings(mapping, option):
    """Maps handed to docker (env, labels, options) must hold strings. A YAML boolean, null or
    float would silently become another text ('True', 'None', 1.10 -> '1.1'); an integer is
    kept as its decimal text."""
    if mapping is None:
        return None
    out = {}
    for key, value in mapping.items():
        if isinstance(value, (bool, float)) or value is None:
            raise InputError(option, "value of %r is the YAML %s %r; quote it so the container gets the "
                                     "exact string you mean (e.g. \"%s\")"
                             % (key, "null" if value is None else type(value).__name__, value,
                                "1.10" if isinstance(value, float) else "true"))
        if not isinstance(value, (str, int)):
            raise InputError(option, "value of %r must be a string, got %r" % (key, value))
        out[str(key)] = str(value)
    return out


def parse_duration(option, value):
    """Seconds (int) or a Go-style duration ('30s', '1m30s', '500ms') -> nanoseconds."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit():
        return int(text) * 10 ** 9
    if not text or _DURATION.sub("", text):
        raise InputError(option, "%r is not a duration; use seconds or e.g. '30s', '1m30s'" % (value,))
    return int(sum(float(n) * _NS[unit] for n, unit in _DURATION.findall(text)))


def parse_env_file(path):
    """docker's --env-file format: KEY=VALUE lines, '#' comments, a bare KEY takes the host's value."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise InputError("env_file", "cannot read %s: %s" % (path, exc.strerror))
    env = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            if key in os.environ:
                env[key] = os.environ[key]
            continue
        env[key.strip()] = value
    return env


def capabilities(names, option):
    return sorted({capability(c) for c in names})


def non_negative(value, option):
    if value < 0:
        raise InputError(option, "must be 0 (no limit) or more")
    return value


def capability(name):
    """'net_admin' and 'CAP_NET_ADMIN' are the same capability; docker stores the latter."""
    name = name.strip().upper()
    return name if name.startswith("CAP_") or name == "ALL" else "CAP_" + name


def healthcheck_test(value):
    if isinstance(value, str):
        return ["CMD-SHELL", value]
    argv = [str(v) for v in value]
    return argv if argv and argv[0] in ("CMD", "CMD-SHELL", "NONE") else ["CMD"] + argv


def normalise_healthcheck(hc, option="healthcheck"):
    if not hc.get("test"):
        raise InputError("healthcheck.test", "required: a shell string, or an argv list (['NONE'] disables)")
    out = {"test": healthcheck_test(hc["test"])}
    for key in ("interval", "timeout", "start_period"):
        if hc.get(key) is not None:
            out[key] = parse_duration("healthcheck." + key, hc[key])
    if hc.get("retries") is not None:
        out["retries"] = hc["retries"]
    return out


def normalise_mount(mount):
    kind, source, target = mount["type"], mount.get("source"), mount["target"]
    if not target.startswith("/"):
        raise InputError("mounts.target", "%r must be an absolute path inside the container" % target)
    if kind == "bind" and not (source and os.path.isabs(source) and os.path.exists(source)):
        raise InputError("mounts.source", "bind source %r must be an existing absolute path on the host" % source)
    if kind == "volume" and not source:
        raise InputError("mounts.source", "a volume mount on %s needs the volume name" % target)
    if kind == "volume":
        names.volume(source, "mounts.source")
    if kind == "tmpfs" and source:
        raise InputError("mounts.source", "a tmpfs mount on %s takes no source" % target)
    return {"type": kind, "source": source, "target": target, "read_only": bool(mount.get("read_only")),
            "tmpfs_size": runtime.docker_size(mount.get("tmpfs_size"), "mounts.tmpfs_size") if kind == "tmpfs" else None}


def volume_spec(spec, option="volumes"):
    """`docker run -v` syntax -> a mount: SOURCE:TARGET[:MODE] (an absolute SOURCE is a bind
    mount, otherwise a named volume), or TARGET alone (an anonymous volume); MODE ro or rw."""
    if not isinstance(spec, str) or not spec.strip():
        raise InputError(option, "%r is not a volume spec; use SOURCE:TARGET[:ro|rw] or TARGET" % (spec,))
    parts = spec.strip().split(":")
    mode = parts.pop() if len(parts) == 3 or (len(parts) == 2 and not parts[1].startswith("/")) else "rw"
    if mode not in ("ro", "rw") or len(parts) > 2:
        raise InputError(option, "%r: the mode must be ro or rw (use mounts for other mount options)" % spec)
    if len(parts) == 1:
        if not parts[0].startswith("/"):
            raise InputError(option, "%r: an anonymous volume needs an absolute path inside the container" % spec)
        return {"type": "volume", "source": None, "target": parts[0], "read_only": mode == "ro", "tmpfs_size": None}
    source, target = parts
    try:
        return normalise_mount({"type": "bind" if source.startswith("/") else "volume", "source": source,
                                "target": target, "read_only": mode == "ro"})
    except InputError as exc:
        raise InputError(option, "%r: %s" % (spec, exc.problem))


def volumes_from(entries, option):
    """['NAME[:ro|rw]'] -> canonical 'NAME:ro' / 'NAME' (rw is docker's default)."""
    out = []
    for entry in entries:
        name, dummy, mode = str(entry).partition(":")
        if mode not in ("", "ro", "rw"):
            raise InputError(option, "%r: the mode must be ro or rw" % entry)
        out.append(names.container(name, option) + (":ro" if mode == "ro" else ""))
    return sorted(set(out))


def mounts_from_host_config(mounts):
    return [{"type": m.get("Type"), "source": m.get("Source") or None, "target": m.get("Target"),
             "read_only": bool(m.get("ReadOnly")),
             "tmpfs_size": (m.get("TmpfsOptions") or {}).get("SizeBytes") if m.get("Type") == "tmpfs" else None}
            for m in mounts or []]


def normalise_network(net):
    return {"name": names.network(net["name"], "networks.name"), "aliases": sorted(net.get("aliases") or []),
            "ipv4_address": validate.ip_address(net.get("ipv4_address") or None, "networks.ipv4_address", version=4),
            "ipv6_address": validate.ip_address(net.get("ipv6_address") or None, "networks.ipv6_address", version=6)}


# network_mode values that give the container no networks of its own to join or leave
SHARED_NETWORK_MODES = ("host", "none")


def network_mode(value, option):
    """'bridge', 'host', 'none', 'container:NAME' or the name of a network ('default' is 'bridge')."""
    if value == "default":
        return "bridge"
    if value.startswith("container:"):
        return "container:" + names.container(value[len("container:"):], option)
    return names.network(value, option)


def networks_from_settings(networks, automatic, wanted):
    """NetworkSettings.Networks -> normalised entries. Aliases docker adds by itself (the short ID,
    the hostname) are dropped unless the user names them for that network."""
    wanted = {n["name"]: n["aliases"] for n in wanted or []}
    out = []
    for name, endpoint in (networks or {}).items():
        aliases = [a for a in endpoint.get("Aliases") or [] if a not in automatic or a in wanted.get(name, ())]
        ipam = endpoint.get("IPAMConfig") or {}
        out.append({"name": name, "aliases": sorted(aliases), "ipv4_address": ipam.get("IPv4Address") or None,
                    "ipv6_address": validate.ip_address(ipam.get("IPv6Address") or None, "ipv6_address")})
    return out


def spec_digest(options, desired):
    """Digest of the recreate-class options the spec sets (an option added later, unset, leaves
    the digest of existing containers as it was)."""
    managed = {k: normalise(desired[k], opt.compare) for k, opt in options.items()
               if opt.update == "recreate" and desired.get(k) is not None}
    return hashlib.sha256(json.dumps(managed, sort_keys=True).encode()).hexdigest()[:32]


MOUNT = {
    "type": Opt(default="volume", choices=["bind", "volume", "tmpfs"]),
    "source": Opt(),
    "target": Opt(required=True),
    "read_only": Opt(type="bool", default=False),
    "tmpfs_size": Opt(),
}
NETWORK = {
    "name": Opt(required=True),
    "aliases": Opt(type="list", elements="str"),
    "ipv4_address": Opt(),
    "ipv6_address": Opt(),
}
HEALTHCHECK = {
    "test": Opt(type="raw"),
    "interval": Opt(),
    "timeout": Opt(),
    "retries": Opt(type="int"),
    "start_period": Opt(),
}


class ContainerService(DockerService):
    result_key = "container"
    # docker_containers: created and started 8 at a time (the SDK pools 10 connections). A start is
    # dockerd/containerd/runc work (about 0.2 s of CPU each); 8 measured best of 1, 2, 4, 8 and 16.
    batch_workers = 8
    options = {
        "name": name_opt(parse=names.container),
        "image": Opt(parse=names.image),  # compared through the image ID it resolves to
        "command": Opt(type="raw", update="recreate", parse=argv),
        "entrypoint": Opt(type="list", elements="str", update="recreate"),
        "env": Opt(type="dict", update="recreate"),
        "env_file": Opt(type="path"),  # merged into env
        "published_ports": Opt(type="list", elements="str", aliases=["ports"], compare="set", update="recreate",
                               parse=ports.parse_all),
        "mounts": Opt(type="list", elements="dict", options=MOUNT, compare="set", update="recreate",
                      parse=lambda mounts, option: [normalise_mount(m) for m in mounts]),
        "volumes": Opt(type="list", elements="str",  # merged into mounts
                       parse=lambda specs, option: [volume_spec(v, option) for v in specs]),
        "volumes_from": Opt(type="list", elements="str", compare="set", update="recreate", parse=volumes_from),
        "networks": Opt(type="list", elements="dict", options=NETWORK, compare="set", update="live",
                        parse=lambda networks, option: [normalise_network(n) for n in networks]),
        "network_mode": Opt(update="recreate", parse=network_mode),
        "labels": Opt(type="dict", update="recreate", parse=strings),
        "user": Opt(update="recreate"),
        "working_dir": Opt(update="recreate"),
        "hostname": Opt(update="recreate"),
        "cap_add": Opt(type="list", elements="str", compare="set", update="recreate", parse=capabilities),
        "cap_drop": Opt(type="list", elements="str", compare="set", update="recreate", parse=capabilities),
        "read_only": Opt(type="bool", update="recreate"),
        "healthcheck": Opt(type="dict", options=HEALTHCHECK, update="recreate", parse=normalise_healthcheck),
        "log_driver": Opt(update="recreate"),
        "log_options": Opt(type="dict", update="recreate", parse=strings),
        "memory": Opt(update="live", parse=runtime.memory_limit),
        "cpus": Opt(type="float", update="live", parse=non_negative),
        "pids_limit": Opt(type="int", update="live"),
        "restart_policy": Opt(choices=RESTART_POLICIES, update="live"),
        "state": state_opt(["present", "started", "stopped", "restarted", "paused", "absent"], default="started"),
        "recreate": Opt(type="bool", default=False),
        "comparisons": Opt(type="dict"),
        "ignore_image": Opt(type="bool", default=False),
        "image_comparison": Opt(default="desired-image", choices=["desired-image", "current-image"]),
        "stop_timeout": Opt(type="int", default=10),
        "force_kill": Opt(type="bool", default=False),
        "kill_signal": Opt(parse=runtime.stop_signal),
        "wait_healthy": Opt(type="bool", default=False),
        "wait_healthy_timeout": Opt(type="int", default=120, parse=validate.seconds),
    }
    options.update(runtime.OPTIONS)  # runtime: privileges, devices, namespaces, DNS, ... (container_runtime.py)
    module_kwargs = {"required_by": {"log_options": "log_driver"}}

    # ------------------------------------------------------------ desired
    def desired(self):
        p = self.params
        desired = self.parsed()
        if p["env_file"] is not None or p["env"] is not None:  # the file first, env wins
            desired["env"] = parse_env_file(p["env_file"]) if p["env_file"] else {}
            desired["env"].update(strings(p["env"], "env") or {})
        del desired["env_file"]
        if desired["volumes"] is not None:
            desired["mounts"] = (desired["mounts"] or []) + desired["volumes"]
            targets = [m["target"] for m in desired["mounts"]]
            twice = sorted({t for t in targets if targets.count(t) > 1})
            if twice:
                raise InputError("volumes", "more than one mount on %s (mounts and volumes together)" % ", ".join(twice))
        del desired["volumes"]
        desired["comparisons"] = comparisons(p["comparisons"], self.options, extra=("image",))
        if p["ignore_image"]:
            desired["comparisons"].setdefault("image", "ignore")
        if p["state"] != "absent":
            desired["running"] = {"started": True, "restarted": True, "paused": True, "stopped": False}.get(p["state"])
            desired["paused"] = None if p["state"] == "present" else p["state"] == "paused"
        return self._networking(runtime.adjust(desired))  # runtime: checks across options, default_host_ip

    @staticmethod
    def _networking(desired):
        """network_mode and networks together: a container that shares the host's or another
        container's network stack (or has none) joins no networks; one whose mode names a network
        is on that network, whatever else the list says."""
        mode, networks = desired["network_mode"], desired["networks"]
        if mode is None:
            return desired
        if mode in SHARED_NETWORK_MODES or mode.startswith("container:"):
            if networks:
                raise InputError("networks", "a container with network_mode=%s has no networks of its own; "
                                             "leave networks out" % mode)
            return dict(desired, networks=None)
        if networks is not None and mode not in [n["name"] for n in networks]:
            networks = [normalise_network({"name": mode})] + networks
        return dict(desired, networks=networks)

    # ------------------------------------------------------------ observed
    def observe(self, desired, batch=None):
        """The container, normalised, or None. In a batch, a container whose listing entry proves
        that it matches is not inspected."""
        if batch is not None:
            entry = batch.containers.get(desired["name"])
            if entry is None:
                return None
            if self._proven(entry, desired):
                return self._from_listing(entry, desired)
        info = self.inspect("container", desired["name"])
        return None if info is None else self._normalise(info, desired, batch)

    @classmethod
    def read_batch(cls, service, desireds):
        return Listing(service)

    def _inspect(self, kind, ident, batch):
        return batch.inspect(kind, ident) if batch is not None else self.inspect(kind, ident)

    def _proven(self, entry, desired):
        """Whether a listing entry alone shows the container matches: same recreate-class spec
        (digest label), same run state, and no live option to read back. The image is compared
        by the plan (the entry has its ID)."""
        labels = entry.get("Labels") or {}
        if desired["recreate"] or desired["state"] in ("absent", "restarted"):
            return desired["state"] == "absent"
        if any(desired.get(k) is not None for k, opt in self.options.items() if opt.update == "live"):
            return False
        running, paused = _run_state(entry)
        return labels.get(SPEC_LABEL) == spec_digest(self.options, desired) and \
            desired["running"] in (None, running) and desired["paused"] in (None, paused)

    def _from_listing(self, entry, desired):
        observed = {k: v for k, v in desired.items() if k in self.options and self.options[k].update is not None}
        running, paused = _run_state(entry)
        observed.update(id=entry["Id"], name=desired["name"], image=entry.get("Image"),
                        image_id=entry.get("ImageID"), running=running, paused=paused, status=entry.get("State"))
        return observed

    def _normalise(self, info, desired, batch=None):
        config, host = info["Config"], info["HostConfig"]
        image = self._reference_image(info, desired, batch) or {"Config": {}}
        image_config = image.get("Config") or {}
        labels = _own_values(config.get("Labels") or {}, image_config.get("Labels") or {},
                             desired.get("labels") or {})
        for label in (MANAGED_LABEL, SPEC_LABEL, OWNER_LABEL):
            labels.pop(label, None)
        healthcheck = None
        if config.get("Healthcheck"):
            hc = config["Healthcheck"]
            healthcheck = {"test": hc.get("Test"), "interval": hc.get("Interval"), "timeout": hc.get("Timeout"),
                           "start_period": hc.get("StartPeriod"), "retries": hc.get("Retries")}
            # only the fields the user sets are compared; docker fills the rest from the image
            keys = desired.get("healthcheck") or {k for k, v in healthcheck.items() if v}
            healthcheck = {k: v for k, v in healthcheck.items() if k in keys}
        log = host.get("LogConfig") or {}
        state = info["State"]
        return {
            "id": info["Id"],
            "name": info["Name"].lstrip("/"),
            "image": config.get("Image"),
            "image_id": info["Image"],
            "command": [] if desired.get("command") == [] and config.get("Cmd") == image_config.get("Cmd")
            else config.get("Cmd"),  # [] asks for the image's default command, which docker stores
            "entrypoint": config.get("Entrypoint"),
            "env": _own_values(_pairs(config.get("Env")), _pairs(image_config.get("Env")),
                               desired.get("env") or {}),
            "published_ports": ports.from_host_config(host.get("PortBindings")),
            "mounts": mounts_from_host_config(host.get("Mounts")),
            "volumes_from": volumes_from(host.get("VolumesFrom") or [], "volumes_from"),
            "networks": networks_from_settings((info.get("NetworkSettings") or {}).get("Networks"),
                                               (info["Id"][:12], config.get("Hostname")), desired.get("networks")),
            "network_mode": self._network_mode(host.get("NetworkMode"), batch),
            "labels": labels,
            "user": config.get("User") or "",
            "working_dir": config.get("WorkingDir") or "",
            "hostname": config.get("Hostname"),
            "cap_add": sorted(host.get("CapAdd") or []),
            "cap_drop": sorted(host.get("CapDrop") or []),
            "read_only": bool(host.get("ReadonlyRootfs")),
            "healthcheck": healthcheck,
            "health": (state.get("Health") or {}).get("Status"),
            "log_driver": log.get("Type"),
            "log_options": log.get("Config") or {},
            "memory": host.get("Memory") or 0,
            "cpus": (host.get("NanoCpus") or 0) / 1e9,
            "pids_limit": max(host.get("PidsLimit") or 0, 0),
            "restart_policy": (host.get("RestartPolicy") or {}).get("Name") or "no",
            "running": bool(state.get("Running")),
            "paused": bool(state.get("Paused")),
            "status": state.get("Status"),
            **runtime.observe(info, image, desired),  # runtime: container_runtime.py
        }

    def _reference_image(self, info, desired, batch):
        """The image whose values a container inherits without setting them (env, labels, command,
        ...: never differences): the image the task names (image_comparison=desired-image, as
        community.docker), or the one the container runs (current-image, or no image named)."""
        if self.params["image_comparison"] == "desired-image" and desired.get("image"):
            wanted = self._inspect("image", desired["image"], batch)
            if wanted is not None:
                return wanted
        return self._inspect("image", info["Image"], batch)

    def _network_mode(self, mode, batch):
        """HostConfig.NetworkMode in the form the option takes: docker stores 'default' for the
        default bridge and 'container:ID' for 'container:NAME'."""
        if mode in (None, "", "default"):
            return "bridge"
        if mode.startswith("container:"):
            other = self._inspect("container", mode[len("container:"):], batch)
            return "container:" + other["Name"].lstrip("/") if other else mode
        return mode

    # ------------------------------------------------------------ resolved
    def resolve(self, desired, observed, batch=None):
        """The image the container is to run (its ID and config) and the networks it joins must
        exist on the Docker host."""
        if desired["state"] == "absent":
            return desired
        out = dict(desired, image_id=None, image_config={})
        if desired["image"]:
            image = self._inspect("image", desired["image"], batch)
            if image is None:
                raise InputError("image", "image %r is not present on the Docker host; create it first "
                                          "(virtcloud.core.docker_image)" % desired["image"])
            out.update(image_id=image["Id"], image_config=image.get("Config") or {})
        for net in desired["networks"] or []:
            if self._inspect("network", net["name"], batch) is None:
                raise InputError("networks", "network %r does not exist; create it first "
                                             "(virtcloud.core.docker_network)" % net["name"])
        if desired.get("cpus"):
            ncpu = (batch.host() if batch is not None else self.api.info())["NCPU"]
            if desired["cpus"] > ncpu:
                raise InputError("cpus", "%s: the Docker host has %d CPUs, so at most %d" % (desired["cpus"], ncpu, ncpu))
        out.update(runtime.resolve(self, out, observed, batch))  # runtime: namespaces, runtime, platform, devices
        return out

    # ------------------------------------------------------------ plan
    def plan(self, desired, observed):
        name = desired["name"]
        if desired["state"] == "absent":
            return Plan.removal(observed, "remove container %s" % name, lambda: self._remove(observed["id"]))
        plan = Plan(observed)

        if observed is None or desired["recreate"]:
            plan.changes = [Change("container", None, name, "recreate")]
        else:
            how = desired["comparisons"]
            plan.changes = differences(self.options, desired, observed, how)
            if desired.get("image_id") not in (None, observed["image_id"]) and \
                    how.get("image", how.get("*")) != "ignore":
                plan.changes.append(Change("image_id", observed["image_id"], desired["image_id"], "recreate"))
            for change in plan.changes:
                # docker's update API reads 0 as "leave as is": lifting a limit needs a new container
                if change.option in LIMITS and not change.after:
                    change.update = "recreate"
        recreate = any(c.update == "recreate" for c in plan.changes)
        if recreate and not desired["image"]:
            raise InputError("image", "required to create container %s" % name)

        plan.after = self._predict(desired, observed, recreate)
        if recreate:
            self._plan_create(plan, desired, observed)
            return plan
        self._plan_live(plan, desired, observed)
        running, was_running = plan.after["running"], observed["running"]
        if observed["paused"] and desired["paused"] is False:
            plan.step("unpause container %s" % name, lambda: self.api.unpause(name))
        if running and (not was_running or desired["state"] == "restarted"):
            verb = "restart" if was_running else "start"
            plan.step("%s container %s" % (verb, name), lambda: self._start(name, restart=was_running))
        elif running is False and was_running:
            plan.step("stop container %s" % name, lambda: self._stop(name))
        if desired["paused"] and not observed["paused"]:
            plan.step("pause container %s" % name, lambda: self.api.pause(name))
        return plan

    def _plan_live(self, plan, desired, observed):
        name = desired["name"]
        resources = [c.option for c in plan.changes if c.update == "live" and c.option != "networks"]
        if resources:
            plan.step("update container %s (%s)" % (name, ", ".join(resources)),
                      lambda: self._update(name, desired, resources))
        if any(c.option == "networks" for c in plan.changes):
            have = {n["name"]: n for n in observed["networks"]}
            want = {n["name"]: n for n in desired["networks"]}
            how = desired["comparisons"]
            extra = set() if how.get("networks", how.get("*")) == "allow_more_present" else set(have) - set(want)
            for net in sorted(extra) + sorted(n for n in want if n in have and have[n] != want[n]):
                plan.step("disconnect container %s from network %s" % (name, net),
                          lambda net=net: self.api.disconnect_container_from_network(name, net))
            for net in sorted(n for n in want if have.get(n) != want[n]):
                plan.step("connect container %s to network %s" % (name, net),
                          lambda net=want[net]: self._connect(name, net))

    def _predict(self, desired, observed, recreate):
        after = dict(observed or {}, status=None)
        if recreate:
            image_config = desired["image_config"]
            mode = self._attachments(desired)[0] or "bridge"
            after.update(DEFAULTS, id=None, health=None, command=image_config.get("Cmd"),
                         entrypoint=image_config.get("Entrypoint"), user=image_config.get("User") or "",
                         working_dir=image_config.get("WorkingDir") or "", hostname=None, network_mode=mode,
                         networks=[] if mode.startswith("container:") else [normalise_network({"name": mode})],
                         healthcheck=None, log_driver=self._default_log_driver())
            after.update(desired.get("runtime_defaults") or {})  # runtime: what the image gives a new container
        after.update((k, v) for k, v in desired.items()
                     if v is not None and k in self.options and self.options[k].update is not None)
        after.update(name=desired["name"], image=desired["image"] or after.get("image"),
                     image_id=desired.get("image_id") or after.get("image_id"))
        running, paused = desired.get("running"), desired.get("paused")
        if running is None:  # state=present keeps the run state (a new container stays created)
            running = bool(observed and observed["running"])
            paused = bool(observed and observed["paused"]) and not recreate
        after.update(running=running, paused=paused)
        # the status docker will report (the hostname and ID of a new container are its own: unknown)
        if paused or running:
            after["status"] = "paused" if paused else "running"
        elif recreate or observed is None:
            after["status"] = "created"
        else:
            after["status"] = "exited" if observed["running"] else observed.get("status")
        return after

    def _default_log_driver(self):
        """The log driver dockerd gives a container that names none (its daemon.json default)."""
        return self.api.info().get("LoggingDriver") or "json-file"

    def _plan_create(self, plan, desired, observed):
        """A new container, or a safe replacement. The replacement is created under a temporary
        name and, when the container is to run, started before the old container is removed: the
        old one is only stopped (its ports and addresses freed) and runs again if the replacement
        cannot be created or started."""
        name, running = desired["name"], plan.after["running"]
        if observed is None:
            plan.step("create container %s" % name, lambda: self._create(desired, name),
                      undo=lambda: self._remove(name), undone="removed the new container %s" % name)
            if running:
                plan.step("start container %s" % name, lambda: self._start(name))
            if desired["paused"]:
                plan.step("pause container %s" % name, lambda: self.api.pause(name))
            return
        temp, old = TEMP_NAME % name, observed["id"]
        plan.step("create replacement %s for container %s" % (temp, name),
                  lambda: self._create(desired, temp, replaces=old), undo=lambda: self._remove(temp),
                  undone="removed the replacement %s" % temp)
        if observed["running"]:
            # undone in this order: a replacement that runs (unhealthy) still holds the ports
            plan.step("stop old container %s" % name, lambda: self._stop(old),
                      undo=lambda: (self._remove(temp), self.api.start(old)),
                      undone="started the old container %s again" % name)
        if running:
            plan.step("start replacement %s" % temp, lambda: self._start(temp))
        plan.step("remove old container %s" % name, lambda: self._remove(old))
        plan.step("rename replacement %s to %s" % (temp, name), lambda: self.api.rename(temp, name))
        if desired["paused"]:
            plan.step("pause container %s" % name, lambda: self.api.pause(name))

    # ------------------------------------------------------------ apply
    def _create(self, desired, name, replaces=None):
        """Create the container `name` (the real name, or the temporary name of a replacement for
        the container `replaces`). Host ports another running container publishes are refused
        here, before anything is created or stopped."""
        # a replacement of a run that was interrupted (killed) before it renamed it: its spec may be
        # stale, so it goes, whether this creates the next replacement or the container itself
        leftover = TEMP_NAME % desired["name"]
        if self.inspect("container", leftover) is not None:
            self._remove(leftover)
        taken = ports.taken(desired["published_ports"] or [],
                            [e for e in self.api.containers() if e["Id"] != replaces] if desired["published_ports"] else [])
        if taken:
            raise InputError("published_ports", "; ".join("host port %s is already published by container %s"
                                                          % (ports.display(b), other) for b, other in taken))
        exposed, bindings = ports.to_api(desired["published_ports"] or [])
        labels = dict(desired["labels"] or {}, **{MANAGED_LABEL: MANAGED_VALUE,
                                                  SPEC_LABEL: spec_digest(self.options, desired)})
        if desired.get("owner"):
            labels[OWNER_LABEL] = desired["owner"]
        mode, networks = self._attachments(desired)
        log = None
        if desired["log_driver"]:
            log = {"type": desired["log_driver"], "config": desired["log_options"] or {}}
        memory = desired["memory"]
        host_config = self.api.create_host_config(**runtime.host_config_kwargs(desired, dict(  # runtime
            port_bindings=bindings or None,
            restart_policy={"Name": desired["restart_policy"]} if desired["restart_policy"] else None,
            mounts=[Mount(m["target"], m["source"], type=m["type"], read_only=m["read_only"],
                          tmpfs_size=m["tmpfs_size"]) for m in desired["mounts"] or []] or None,
            network_mode=mode, volumes_from=desired["volumes_from"] or None,
            cap_add=desired["cap_add"] or None, cap_drop=desired["cap_drop"] or None,
            read_only=desired["read_only"], log_config=log,
            mem_limit=memory or None, memswap_limit=2 * memory if memory else None,  # as docker run -m
            nano_cpus=int(desired["cpus"] * 1e9) if desired["cpus"] else None,
            pids_limit=desired["pids_limit"] or None)))
        networking = None
        if networks and networks[0]["name"] == mode:
            networking = self.api.create_networking_config({mode: self._endpoint(networks[0])})
        hc = desired["healthcheck"]
        try:
            self.api.create_container(**runtime.config_kwargs(desired, dict(  # runtime
                image=desired["image"], name=name, command=desired["command"],
                entrypoint=desired["entrypoint"],
                environment=["%s=%s" % kv for kv in sorted((desired["env"] or {}).items())] or None,
                labels=labels, ports=exposed or None, host_config=host_config, networking_config=networking,
                user=desired["user"], working_dir=desired["working_dir"], hostname=desired["hostname"],
                healthcheck=None if hc is None else {k.title().replace("_", ""): v for k, v in hc.items()})))
        except APIError as exc:
            if exc.status_code == 409 and name == desired["name"]:
                self._created_elsewhere(name)
            raise
        if desired["networks"] == [] and mode is None:  # on no network: leave the default bridge at once
            self.api.disconnect_container_from_network(name, "bridge")
        for net in networks[1:] if networking else networks:
            self._connect(name, net)

    def _created_elsewhere(self, name):
        """The name is taken: another run is creating this very container (two runs of one batch).
        dockerd reserves the name before it lists the container, so wait (briefly) until it is
        there; the batch engine then plans the item again from the container as it is."""
        try:
            wait_for(lambda: self.inspect("container", name), lambda info: info is not None, 10,
                     "container %s to appear" % name, interval=0.2)
        except WaitTimeout:
            pass  # not a creation in flight: the conflict error stands

    @staticmethod
    def _attachments(desired):
        """(network mode to create with, networks in the order to join): the mode's network first."""
        mode, networks = desired["network_mode"], list(desired["networks"] or [])
        if mode is None and networks:
            mode = networks[0]["name"]
        networks.sort(key=lambda net: net["name"] != mode)
        return mode, networks

    def _endpoint(self, net):
        return self.api.create_endpoint_config(aliases=net["aliases"] or None, ipv4_address=net["ipv4_address"],
                                               ipv6_address=net["ipv6_address"])

    def _connect(self, name, net):
        self.api.connect_container_to_network(name, net["name"], aliases=net["aliases"] or None,
                                              ipv4_address=net["ipv4_address"], ipv6_address=net["ipv6_address"])

    def _update(self, name, desired, options):
        """Live update; the SDK's update_container knows neither NanoCpus nor PidsLimit, so the
        API body is posted as docker's own client does."""
        body = {}
        if "restart_policy" in options:
            body["RestartPolicy"] = {"Name": desired["restart_policy"]}
        if "memory" in options:
            body.update(Memory=desired["memory"], MemorySwap=2 * desired["memory"])
        if "cpus" in options:
            body["NanoCpus"] = int(desired["cpus"] * 1e9)
        if "pids_limit" in options:
            body["PidsLimit"] = desired["pids_limit"]
        body.update(runtime.update_body(desired, options))  # runtime: container_runtime.py
        self.api._raise_for_status(self.api._post_json(self.api._url("/containers/{0}/update", name), data=body))

    def _start(self, name, restart=False):
        if restart:
            self.api.restart(name, timeout=self.params["stop_timeout"])
        else:
            self.api.start(name)
        state = self.api.inspect_container(name)["State"]
        if not state.get("Running") and state.get("ExitCode"):
            raise BackendError("container %s exited with code %s right after start; last log lines:\n%s"
                               % (name, state["ExitCode"], self._logs(name)))
        if self.params["wait_healthy"]:
            self._wait_healthy(name)

    def _logs(self, name):
        return self.api.logs(name, tail=20).decode("utf-8", "replace").strip()

    def _wait_healthy(self, name):
        def done(state):
            health = state.get("Health")
            if health is None:
                raise InputError("wait_healthy", "container %s has no healthcheck (set healthcheck)" % name)
            return health.get("Status") == "healthy"

        def broken(state):
            health = state["Health"]
            if health.get("Status") == "unhealthy" or not state.get("Running"):
                log = health.get("Log") or [{}]
                return "container %s is %s; last check said: %s" % (
                    name, health.get("Status") if state.get("Running") else "not running",
                    (log[-1].get("Output") or "").strip())
            return None

        wait_for(lambda: self.api.inspect_container(name)["State"], done, self.params["wait_healthy_timeout"],
                 "container %s to be healthy (wait_healthy_timeout)" % name,
                 describe=lambda state: (state.get("Health") or {}).get("Status"), fail=broken)

    def _stop(self, ident, state=None):
        """Stop a container, paused or not: gracefully (its stop signal, then SIGKILL after
        stop_timeout), or at once with kill_signal when force_kill is set."""
        state = state or self.api.inspect_container(ident)["State"]
        if not state.get("Running"):
            return
        if state.get("Paused"):
            self.api.unpause(ident)  # a paused process cannot handle the stop signal
        if self.params["force_kill"]:
            self.api.kill(ident, signal=self.params["kill_signal"] or "SIGKILL")
            wait_for(lambda: self.api.inspect_container(ident)["State"], lambda s: not s.get("Running"),
                     self.params["stop_timeout"], "container %s to exit on %s (kill_signal)"
                     % (ident, self.params["kill_signal"] or "SIGKILL"), interval=0.2,
                     describe=lambda s: s.get("Status"))
        else:
            self.api.stop(ident, timeout=self.params["stop_timeout"])

    def _remove(self, ident):
        info = self.inspect("container", ident)
        if info is None:
            return
        self._stop(ident, info["State"])
        self.api.remove_container(ident, v=False)  # named volumes outlive the container

    # ------------------------------------------------------------ report
    def facts(self, state):
        return container_facts(state)


def _run_state(entry):
    """(running, paused) of a listing entry; a paused container is still running."""
    return entry.get("State") in ("running", "paused"), entry.get("State") == "paused"


class Listing:
    """What a batch of containers shares: one listing call for every container of the host
    (name -> listing entry), and the images and networks the items name, each inspected once."""

    def __init__(self, service):
        self.service = service
        self.containers = {}
        for entry in service.api.containers(all=True):
            for name in entry.get("Names") or []:
                self.containers[name.lstrip("/")] = entry
        self.seen = {}

    def host(self):
        """dockerd's /info, read once for the batch."""
        if "info" not in self.seen:
            self.seen["info"] = self.service.api.info()
        return self.seen["info"]

    def inspect(self, kind, ident):
        key = (kind, ident)
        if key not in self.seen:
            self.seen[key] = self.service.inspect(kind, ident)
        return self.seen[key]


def container_facts(state):
    facts = dict(state)
    facts["published_ports"] = [ports.display(b) for b in state.get("published_ports") or []]
    return facts
