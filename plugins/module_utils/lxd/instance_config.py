# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The configuration keys of an LXD instance (LXD 5.0), checked before anything is sent: the key is
one LXD knows, the value has the key's type, and every value is the string LXD stores (YAML's
``true`` -> "true", ``512`` -> "512"). LXD validates again on write; checking here first is what
lets check mode predict the refusal and lets the message name the key.

Each key also says how a change reaches a running instance: LIVE (applied at once) or RESTART
(stored, takes effect when the instance next starts). Measured on LXD 5.0.2 for limits.memory,
limits.processes (cgroup values changed at once), security.privileged (the uid map changes only on
restart) and environment.* (the running init keeps its environment; `lxc exec` sessions see the
new one at once, so it counts as live); the rest follows LXD's documentation ("Live update")."""

from __future__ import annotations

import re

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

LIVE, RESTART = "live", "restart"
BOOL, INT, STR, SIZE, CPUS = "bool", "int", "str", "size", "cpus"

TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off")

# key -> (type, how a change applies)
KEYS = {
    "agent.nic_config": (BOOL, RESTART),
    "boot.autostart": (BOOL, LIVE),
    "boot.autostart.delay": (INT, LIVE),
    "boot.autostart.priority": (INT, LIVE),
    "boot.host_shutdown_timeout": (INT, LIVE),
    "boot.stop.priority": (INT, LIVE),
    "cloud-init.network-config": (STR, RESTART),
    "cloud-init.user-data": (STR, RESTART),
    "cloud-init.vendor-data": (STR, RESTART),
    "cluster.evacuate": (STR, LIVE),
    "limits.cpu": (CPUS, LIVE),
    "limits.cpu.allowance": (STR, LIVE),
    "limits.cpu.priority": (INT, LIVE),
    "limits.disk.priority": (INT, LIVE),
    "limits.hugepages.64KB": (SIZE, LIVE),
    "limits.hugepages.1MB": (SIZE, LIVE),
    "limits.hugepages.2MB": (SIZE, LIVE),
    "limits.hugepages.1GB": (SIZE, LIVE),
    "limits.memory": (SIZE, LIVE),
    "limits.memory.enforce": (STR, LIVE),
    "limits.memory.hugepages": (BOOL, RESTART),
    "limits.memory.swap": (BOOL, LIVE),
    "limits.memory.swap.priority": (INT, LIVE),
    "limits.network.priority": (INT, LIVE),
    "limits.processes": (INT, LIVE),
    "linux.kernel_modules": (STR, LIVE),
    "migration.incremental.memory": (BOOL, LIVE),
    "migration.incremental.memory.goal": (INT, LIVE),
    "migration.incremental.memory.iterations": (INT, LIVE),
    "nvidia.driver.capabilities": (STR, RESTART),
    "nvidia.require.cuda": (STR, RESTART),
    "nvidia.require.driver": (STR, RESTART),
    "nvidia.runtime": (BOOL, RESTART),
    "raw.apparmor": (STR, LIVE),
    "raw.idmap": (STR, RESTART),
    "raw.lxc": (STR, RESTART),
    "raw.qemu": (STR, RESTART),
    "raw.seccomp": (STR, RESTART),
    "security.agent.metrics": (BOOL, RESTART),
    "security.csm": (BOOL, RESTART),
    "security.devlxd": (BOOL, LIVE),
    "security.devlxd.images": (BOOL, LIVE),
    "security.idmap.base": (INT, RESTART),
    "security.idmap.isolated": (BOOL, RESTART),
    "security.idmap.size": (INT, RESTART),
    "security.nesting": (BOOL, LIVE),
    "security.privileged": (BOOL, RESTART),
    "security.protection.delete": (BOOL, LIVE),
    "security.protection.shift": (BOOL, LIVE),
    "security.secureboot": (BOOL, RESTART),
    "security.syscalls.allow": (STR, RESTART),
    "security.syscalls.deny": (STR, RESTART),
    "security.syscalls.deny_compat": (BOOL, RESTART),
    "security.syscalls.deny_default": (BOOL, RESTART),
    "security.syscalls.intercept.bpf": (BOOL, RESTART),
    "security.syscalls.intercept.bpf.devices": (BOOL, RESTART),
    "security.syscalls.intercept.mknod": (BOOL, RESTART),
    "security.syscalls.intercept.mount": (BOOL, RESTART),
    "security.syscalls.intercept.mount.allowed": (STR, RESTART),
    "security.syscalls.intercept.mount.fuse": (STR, RESTART),
    "security.syscalls.intercept.mount.shift": (BOOL, RESTART),
    "security.syscalls.intercept.sched_setscheduler": (BOOL, RESTART),
    "security.syscalls.intercept.setxattr": (BOOL, RESTART),
    "snapshots.expiry": (STR, LIVE),
    "snapshots.pattern": (STR, LIVE),
    "snapshots.schedule": (STR, LIVE),
    "snapshots.schedule.stopped": (BOOL, LIVE),
}
# keys LXD 5.0 knows for virtual machines only (a container refuses them as unknown)
VM_ONLY = ("agent.nic_config", "limits.memory.hugepages", "raw.qemu", "security.agent.metrics", "security.csm",
           "security.secureboot")
# key prefixes whose keys are free-form
PREFIXES = {"user.": (STR, LIVE), "environment.": (STR, LIVE), "limits.kernel.": (STR, RESTART)}
# keys LXD writes itself: never the user's to set, never compared
GENERATED = ("volatile.", "image.")

_SIZE = re.compile(r"[0-9]+(B|[kMGTPE]B|[KMGTPE]iB)?|[0-9]+%")
_CPUS = re.compile(r"[0-9]+|[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*")
_INT = re.compile(r"-?[0-9]+")


def key_info(key):
    """(type, how a change applies) of a key, or None when LXD has no such key."""
    if key in KEYS:
        return KEYS[key]
    for prefix, info in PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return info
    return None


def applies(key):
    """LIVE or RESTART for a key of the table (user-set keys only)."""
    info = key_info(key)
    return info[1] if info else LIVE


def value(key, raw, option="config"):
    """The string LXD stores for `raw` under `key`, or InputError naming the option and the key."""
    where = "%s.%s" % (option, key)
    kind = key_info(key)[0]
    if isinstance(raw, bool):
        if kind not in (BOOL, STR):
            raise InputError(where, "%r is not a valid value: this key takes %s" % (raw, _EXPECT[kind]))
        return "true" if raw else "false"
    if isinstance(raw, (int, float)):
        text = str(raw)
    elif isinstance(raw, str):
        text = raw
    else:
        raise InputError(where, "%r is not a valid value: LXD keys take strings (or numbers and booleans, which "
                                "become strings)" % (raw,))
    if kind == BOOL:
        lowered = text.strip().lower()
        if lowered in TRUE:
            return "true"
        if lowered in FALSE:
            return "false"
    elif kind == STR or (kind == INT and _INT.fullmatch(text)) or (kind == SIZE and _SIZE.fullmatch(text)) \
            or (kind == CPUS and _CPUS.fullmatch(text)):
        return text
    raise InputError(where, "%r is not a valid value: this key takes %s" % (raw, _EXPECT[kind]))


_EXPECT = {BOOL: "true or false", INT: "a whole number, e.g. 100", SIZE: "a size in whole units like 512MiB, 2GB or 50%",
           CPUS: "a number of CPUs (2) or a set of CPU ids (0-3,6)", STR: "a string"}


def config(raw, option="config"):
    """The user's `config`: {key: LXD string}, a key set to null (None) meaning "remove it"."""
    if raw is None:
        return None
    out = {}
    for key, item in raw.items():
        key = str(key)
        if key.startswith(GENERATED):
            raise InputError("%s.%s" % (option, key),
                             "LXD sets %s* keys itself (generated MAC addresses, the source image); they cannot "
                             "be managed" % (key.split(".")[0] + "."))
        if key_info(key) is None:
            raise InputError("%s.%s" % (option, key),
                             "LXD has no instance configuration key %r; use user.* for your own keys (see the LXD "
                             "documentation, instance options)" % key)
        out[key] = None if item is None else value(key, item, option)
    return out


def for_type(config_values, kind, option="config"):
    """Refuse the keys of virtual machines for a container (LXD would call them unknown)."""
    for key in config_values or {}:
        if kind == "container" and key in VM_ONLY:
            raise InputError("%s.%s" % (option, key), "applies to virtual machines only (type: virtual-machine)")


def devices(raw, option="devices"):
    """The user's `devices`: {name: {property: LXD string}}, each with a `type`; a device set to null
    (None) meaning "remove it"."""
    if raw is None:
        return None
    out = {}
    for name, device in raw.items():
        where = "%s.%s" % (option, name)
        if device is None:
            out[str(name)] = None
            continue
        if not isinstance(device, dict):
            raise InputError(where, "%r is not a device: give a dictionary such as {type: nic, network: lxdbr0}"
                             % (device,))
        if not device.get("type"):
            raise InputError(where, "a device needs its type (disk, nic, proxy, unix-char, none, ...)")
        props = {}
        for key, item in device.items():
            if isinstance(item, bool):
                props[str(key)] = "true" if item else "false"
            elif isinstance(item, (int, float, str)):
                props[str(key)] = str(item)
            else:
                raise InputError("%s.%s" % (where, key), "%r is not a valid value: device properties are strings"
                                 % (item,))
        out[str(name)] = props
    return out
