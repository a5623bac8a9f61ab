# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_container's runtime options (privileges, devices, limits, namespaces, DNS, ...): ONE
table, `ROWS`, drives them all. Each row holds the option (its Opt: type, parsing, live or
recreate), where Docker keeps the value (the inspect field), what a new container has, how the
stored value reads back in the option's normalised form, and which argument of the SDK's
create_host_config / create_container carries it (and, for the live ones, which field of
POST /containers/{id}/update).

ContainerService (container.py) uses it at a few marked points: OPTIONS (its table), DEFAULTS
(a new container), LIVE (resource limits updated in place), adjust (checks across options, in
desired), resolve (lookups, in resolve), observe (in _normalise), host_config_kwargs /
config_kwargs (in _create) and update_body (in _update).
"""

from __future__ import annotations

import os
import re

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import parse_size
from ansible_collections.virtcloud.core.plugins.module_utils.docker import names, ports

DEFAULT_SHM_SIZE = 64 * 1024 ** 2  # dockerd's default /dev/shm of a container

# ---------------------------------------------------------------- parsers (value, option) -> normalised

_PERMISSIONS = re.compile(r"(?!.*(.).*\1)[rwm]{1,3}")  # r, w, m, each at most once
_ULIMITS = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
            "rss", "rtprio", "rttime", "sigpending", "stack")
_INT = re.compile(r"-?\d+")
# kernel parameters with a namespace of their own (IPC, network, UTS): the only ones runc sets
_SYSCTL = re.compile(r"kernel\.(msg[a-z_]+|sem|shm[a-z_]+|domainname)|fs\.mqueue\.[a-z_.]+|net\.[A-Za-z0-9_.\-/]+")
_SECURITY_KEYS = ("label", "apparmor", "seccomp", "no-new-privileges", "systempaths")
_SIGNALS = ("ABRT ALRM BUS CHLD CLD CONT FPE HUP ILL INT IO IOT KILL PIPE POLL PROF PWR QUIT SEGV "
            "STKFLT STOP SYS TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ").split()
_RT_SIGNAL = re.compile(r"RTMIN(\+([1-9]|1[0-5]))?|RTMAX(-([1-9]|1[0-4]))?")
_CPUSET = re.compile(r"\d+(-\d+)?(,\d+(-\d+)?)*")
_RUNTIME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*")
_OSES = ("linux", "windows", "freebsd", "darwin")
_ARCH = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm/v7", "armel": "arm/v6",
         "i386": "386", "i686": "386"}


def _absolute(path, option, what):
    if not path.startswith("/"):
        raise InputError(option, "%s %r must be an absolute path, e.g. /dev/fuse" % (what, path))
    return path


def device(value, option):
    """'/dev/fuse', '/dev/sda:/dev/xvda', '/dev/sda:rw', '/dev/sda:/dev/xvda:rwm', or
    {path_on_host, path_in_container, cgroup_permissions} -> 'HOST:CONTAINER:PERMISSIONS'."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - {"path_on_host", "path_in_container", "cgroup_permissions"})
        if unknown or not value.get("path_on_host"):
            raise InputError(option, "%r: a device dict takes path_on_host (required), path_in_container and "
                                     "cgroup_permissions%s" % (value, " (not %s)" % ", ".join(unknown) if unknown else ""))
        host, inside, perms = value["path_on_host"], value.get("path_in_container"), value.get("cgroup_permissions")
    elif isinstance(value, str) and 1 <= len(value.split(":")) <= 3:
        parts = value.split(":")
        host, inside, perms = parts[0], None, None
        if len(parts) == 3:
            inside, perms = parts[1], parts[2]
        elif len(parts) == 2:  # as docker run --device: a second field that reads as permissions is one
            inside, perms = (None, parts[1]) if _PERMISSIONS.fullmatch(parts[1]) else (parts[1], None)
    else:
        raise InputError(option, "%r is not a device; use HOST_PATH[:CONTAINER_PATH][:PERMISSIONS], "
                                 "e.g. /dev/fuse or /dev/sda:/dev/xvda:rwm" % (value,))
    perms = "rwm" if perms is None else str(perms)
    if not _PERMISSIONS.fullmatch(perms):
        raise InputError(option, "%r: cgroup permissions are r, w and m (each at most once), e.g. rwm or r" % (value,))
    host = _absolute(str(host), option, "device")
    inside = _absolute(str(inside or host), option, "device")
    return "%s:%s:%s" % (host, inside, perms)


def devices(values, option):
    return sorted({device(v, option) for v in values})


def _limit(text, value, option):
    if isinstance(text, bool) or not _INT.fullmatch(str(text).strip()) or int(text) < -1:
        raise InputError(option, "%r: a limit is a whole number, or -1 for unlimited" % (value,))
    return int(text)


def ulimit(value, option):
    """'nofile:1024:2048' (TYPE:SOFT[:HARD], or docker's TYPE=SOFT[:HARD]) -> 'nofile:1024:2048';
    the hard limit defaults to the soft one."""
    text = str(value).strip().replace("=", ":", 1)
    parts = text.split(":")
    if len(parts) not in (2, 3) or parts[0] not in _ULIMITS:
        raise InputError(option, "%r is not a ulimit; use TYPE:SOFT[:HARD] with TYPE one of %s, e.g. nofile:1024:2048"
                         % (value, ", ".join(_ULIMITS)))
    soft = _limit(parts[1], value, option)
    hard = _limit(parts[2], value, option) if len(parts) == 3 else soft
    if hard != -1 and (soft == -1 or soft > hard):
        raise InputError(option, "%r: the soft limit must not exceed the hard limit" % (value,))
    return "%s:%d:%d" % (parts[0], soft, hard)


def ulimits(values, option):
    out = {}
    for value in values:
        limit = ulimit(value, option)
        kind = limit.split(":")[0]
        if kind in out:
            raise InputError(option, "%s is given twice" % kind)
        out[kind] = limit
    return sorted(out.values())


def sysctls(mapping, option):
    """Namespaced kernel parameters -> {name: string}. Values must be strings or whole numbers: a
    YAML boolean or a float would reach the kernel as 'True' or '0.1'."""
    out = {}
    for key, value in mapping.items():
        key = str(key).strip()
        if not _SYSCTL.fullmatch(key):
            raise InputError(option, "%r is not a kernel parameter a container has its own copy of; Docker sets only "
                                     "kernel.msg*, kernel.sem, kernel.shm*, kernel.domainname, fs.mqueue.* and net.* "
                                     "(e.g. net.ipv4.ip_forward)" % key)
        if isinstance(value, (bool, float)) or value is None:
            raise InputError(option, "value of %r is %r; quote it so the kernel gets the exact string you mean "
                                     "(e.g. \"1\")" % (key, value))
        out[key] = str(value)
    return out


def security_opt(value, option):
    """'no-new-privileges', 'KEY=VALUE' or 'KEY:VALUE' with a KEY dockerd knows; kept as given
    (dockerd stores it as given)."""
    text = str(value).strip()
    key = re.split(r"[=:]", text, maxsplit=1)[0]
    if key not in _SECURITY_KEYS or (text == key and key != "no-new-privileges"):
        raise InputError(option, "%r is not a security option; use no-new-privileges, label=..., apparmor=PROFILE, "
                                 "seccomp=unconfined (or a profile's JSON) or systempaths=unconfined" % (value,))
    return text


def security_opts(values, option):
    return sorted({security_opt(v, option) for v in values})


# dockerd reads every size into a signed 64-bit integer and refuses a memory limit under 6 MiB
# (linuxMinMemory), both only when the container is created
MAX_SIZE = 2 ** 63 - 1
MIN_MEMORY = 6 * 1024 * 1024


def docker_size(value, option):
    """A size in bytes that dockerd can hold; None stays None."""
    size = parse_size(value, option)
    if size is not None and size > MAX_SIZE:
        raise InputError(option, "%r is more than dockerd takes (at most %d bytes, 8 EiB)" % (value, MAX_SIZE))
    return size


def memory_limit(value, option):
    """A memory limit: 0 (none) or at least the 6 MiB dockerd accepts."""
    size = docker_size(value, option)
    if size and size < MIN_MEMORY:
        raise InputError(option, "%r is less than the 6 MiB dockerd allows (0 means no limit)" % (value,))
    return size


def positive_size(value, option):
    size = docker_size(value, option)
    if not size:
        raise InputError(option, "must be more than 0 (leave it out for Docker's default)")
    return size


def memory_swap(value, option):
    """Memory and swap together: a size, -1 (swap unlimited) or 0 (Docker's default: twice memory)."""
    if str(value).strip() == "-1":
        return -1
    return docker_size(value, option)


def cpu_shares(value, option):
    if value != 0 and not 2 <= value <= 262144:
        raise InputError(option, "%r: CPU shares are 2 to 262144 (1024 is the default weight), or 0 for the default"
                         % (value,))
    return value


def cpuset(value, option):
    text = str(value).replace(" ", "")
    if not _CPUSET.fullmatch(text):
        raise InputError(option, "%r is not a list of CPUs; use numbers and ranges, e.g. 0-2,4" % (value,))
    return text


def stop_signal(value, option):
    """'TERM', 'SIGTERM', 'sigterm' -> 'SIGTERM'; a number stays a number (as a string)."""
    text = str(value).strip().upper()
    if text.isdigit():
        if not 1 <= int(text) <= 64:
            raise InputError(option, "%r: signal numbers are 1 to 64" % (value,))
        return text
    name = text[3:] if text.startswith("SIG") else text
    if name not in _SIGNALS and not _RT_SIGNAL.fullmatch(name):
        raise InputError(option, "%r is not a signal; use a name such as SIGTERM, SIGQUIT, SIGRTMIN+3, or a "
                                 "number" % (value,))
    return "SIG" + name


def _namespace(choices, value, option):
    text = str(value).strip()
    if text.startswith("container:"):
        names.container(text[len("container:"):], option)
        return text
    if text not in choices:
        raise InputError(option, "%r: use %s or container:NAME" % (value, ", ".join(choices)))
    return text


def pid_mode(value, option):
    return _namespace(("private", "host"), value, option)


def ipc_mode(value, option):
    return _namespace(("private", "shareable", "host", "none"), value, option)


def runtime_name(value, option):
    if not _RUNTIME.fullmatch(value):
        raise InputError(option, "%r is not a runtime name, e.g. runc or io.containerd.runc.v2" % (value,))
    return value


def platform(value, option):
    """'linux/amd64', 'linux/arm64/v8', 'amd64', 'x86_64' -> 'OS[/ARCH[/VARIANT]]' as containerd
    normalises it (arm64/v8 is arm64, armhf is arm/v7, an architecture alone means linux)."""
    parts = str(value).strip().lower().split("/")
    if parts[0] not in _OSES:
        parts = ["linux"] + parts
    if len(parts) > 3 or not all(re.fullmatch(r"[a-z0-9_-]+", p) for p in parts):
        raise InputError(option, "%r is not a platform; use OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64"
                         % (value,))
    os_name, arch, variant = (parts + [None, None])[:3]
    arch, dummy, implied = _ARCH.get(arch, arch or "").partition("/")
    variant = variant or implied or None
    if arch == "arm64" and variant == "v8":
        variant = None
    return "/".join(p for p in (os_name, arch, variant) if p)


def exposed_port(value, option):
    text = str(value).strip()
    port_text, dummy, proto = text.partition("/")
    proto = proto or "tcp"
    if proto not in ("tcp", "udp", "sctp"):
        raise InputError(option, "%r: protocol must be tcp, udp or sctp" % (value,))
    first, last = validate.port_range(port_text, option)
    return ["%d/%s" % (port, proto) for port in range(first, last + 1)]


def exposed_ports(values, option):
    out = {p for value in values for p in exposed_port(value, option)}
    return sorted(out, key=lambda p: (int(p.split("/")[0]), p))


def dns_servers(values, option):
    return [validate.ip_address(v, option) for v in values]


def dns_search_domains(values, option):
    return [validate.hostname(v, option) for v in values]


def etc_hosts(mapping, option):
    """{host: address} -> the same; the address may also be Docker's 'host-gateway'."""
    out = {}
    for host, address in mapping.items():
        validate.hostname(str(host), option, underscore=True)
        address = str(address).strip()
        out[str(host)] = address if address == "host-gateway" else validate.ip_address(address, option)
    return out


def host_ip(value, option):
    return "" if not value.strip() else validate.ip_address(value, option)


# ---------------------------------------------------------------- how stored values read back

def _flag(value, ctx):
    return bool(value)


def _list(value, ctx):
    return list(value or [])


def _read_devices(value, ctx):
    return sorted("%s:%s:%s" % (d.get("PathOnHost"), d.get("PathInContainer"), d.get("CgroupPermissions"))
                  for d in value or [])


def _read_ulimits(value, ctx):
    return sorted("%s:%d:%d" % (u["Name"], u.get("Soft", 0), u.get("Hard", 0)) for u in value or [])


def _read_security_opts(value, ctx):
    """dockerd adds label=disable by itself to a privileged container or one sharing the host's
    PID or IPC namespace; it counts only when the user names it."""
    wanted = ctx["desired"].get("security_opts") or []
    return sorted(o for o in value or [] if o not in ("label=disable", "label:disable") or o in wanted)


def _read_etc_hosts(value, ctx):
    return dict(re.split("[:=]", entry, maxsplit=1) for entry in value or [])


def _read_memory_swap(value, ctx):
    """0 stands for Docker's default, twice the memory limit, unless the user asks for an
    explicit value."""
    swap, memory = value or 0, ctx["host"].get("Memory") or 0
    return 0 if swap == 2 * memory and not ctx["desired"].get("memory_swap") else swap


def _read_signal(value, ctx):
    signal = value or (ctx["image"].get("Config") or {}).get("StopSignal") or "SIGTERM"
    try:
        return stop_signal(signal, "stop_signal")
    except InputError:  # a spelling dockerd took that we do not know: compared as stored
        return signal


def _read_namespace(value, ctx):
    return value or "private"


def _image_platform(image):
    if not image.get("Architecture"):
        return None
    return platform("/".join(p for p in (image.get("Os") or "linux", image["Architecture"], image.get("Variant")) if p),
                    "platform")


def _matches(wanted, actual):
    """Whether an image of platform `actual` runs as `wanted` (a variant left out matches any)."""
    return actual is not None and (wanted == actual or actual.startswith(wanted + "/"))


def _read_platform(value, ctx):
    actual, wanted = _image_platform(ctx["image"]), ctx["desired"].get("platform")
    return wanted if wanted and _matches(wanted, actual) else actual


def _read_exposed(value, ctx):
    """Ports the container exposes beyond its image's and its published ports (which Docker
    exposes by itself), and those the user names."""
    wanted = set(ctx["desired"].get("exposed_ports") or [])
    implied = set((ctx["image"].get("Config") or {}).get("ExposedPorts") or {}) | set(ctx["host"].get("PortBindings") or {})
    return sorted((p for p in value or {} if p in wanted or p not in implied), key=lambda p: (int(p.split("/")[0]), p))


def _send_ulimits(limits):
    return [{"name": name, "soft": int(soft), "hard": int(hard)}
            for name, soft, hard in (limit.split(":") for limit in limits)]


def _send_ports(exposed):
    return [(int(port), proto) for port, proto in (p.split("/") for p in exposed)]


# ---------------------------------------------------------------- the table

class Row:
    """One runtime option.

    opt     -- the module option (type, parse, update 'live' or 'recreate', compare)
    field   -- where `docker inspect` shows it: ('HostConfig', 'ShmSize'); None: nowhere
    default -- what a container created without the option has (None: depends on the image)
    read    -- (stored value, ctx) -> the option's normalised value; default: as stored
    send    -- ('host', kwarg) of create_host_config or ('config', kwarg) of create_container
    write   -- normalised value -> that kwarg's value (None: leave the kwarg out)
    live    -- the field of POST /containers/{id}/update for a live option
    """

    def __init__(self, opt, field, send=None, default=None, read=None, write=None, live=None):
        self.opt, self.field, self.send, self.default = opt, field, send, default
        self.read = read or (lambda value, ctx: value if value is not None else default)
        self.write = write or (lambda value: value)
        self.live = live


ROWS = {
    "privileged": Row(Opt(type="bool", update="recreate"), ("HostConfig", "Privileged"),
                      ("host", "privileged"), False, _flag),
    "devices": Row(Opt(type="list", elements="raw", compare="set", update="recreate", parse=devices),
                   ("HostConfig", "Devices"), ("host", "devices"), [], _read_devices),
    "ulimits": Row(Opt(type="list", elements="str", compare="set", update="recreate", parse=ulimits),
                   ("HostConfig", "Ulimits"), ("host", "ulimits"), [], _read_ulimits, _send_ulimits),
    "sysctls": Row(Opt(type="dict", update="recreate", parse=sysctls), ("HostConfig", "Sysctls"),
                   ("host", "sysctls"), {}, lambda value, ctx: dict(value or {})),
    "security_opts": Row(Opt(type="list", elements="str", compare="set", update="recreate", parse=security_opts),
                         ("HostConfig", "SecurityOpt"), ("host", "security_opt"), [], _read_security_opts),
    "init": Row(Opt(type="bool", update="recreate"), ("HostConfig", "Init"), ("host", "init"), False, _flag),
    "tty": Row(Opt(type="bool", update="recreate"), ("Config", "Tty"), ("config", "tty"), False, _flag),
    "interactive": Row(Opt(type="bool", update="recreate"), ("Config", "OpenStdin"), ("config", "stdin_open"),
                       False, _flag),
    "shm_size": Row(Opt(update="recreate", parse=positive_size), ("HostConfig", "ShmSize"), ("host", "shm_size"),
                    DEFAULT_SHM_SIZE),
    "dns_servers": Row(Opt(type="list", elements="str", update="recreate", parse=dns_servers),
                       ("HostConfig", "Dns"), ("host", "dns"), [], _list),
    "dns_search_domains": Row(Opt(type="list", elements="str", update="recreate", parse=dns_search_domains),
                              ("HostConfig", "DnsSearch"), ("host", "dns_search"), [], _list),
    "etc_hosts": Row(Opt(type="dict", update="recreate", parse=etc_hosts), ("HostConfig", "ExtraHosts"),
                     ("host", "extra_hosts"), {}, _read_etc_hosts),
    "memory_reservation": Row(Opt(update="live", parse=docker_size), ("HostConfig", "MemoryReservation"),
                              ("host", "mem_reservation"), 0, live="MemoryReservation"),
    "memory_swap": Row(Opt(update="live", parse=memory_swap), ("HostConfig", "MemorySwap"),
                       ("host", "memswap_limit"), 0, _read_memory_swap, lambda swap: swap or None, live="MemorySwap"),
    "cpu_shares": Row(Opt(type="int", update="live", parse=cpu_shares), ("HostConfig", "CpuShares"),
                      ("host", "cpu_shares"), 0, live="CpuShares"),
    "cpuset_cpus": Row(Opt(update="live", parse=cpuset), ("HostConfig", "CpusetCpus"), ("host", "cpuset_cpus"),
                       "", live="CpusetCpus"),
    "stop_signal": Row(Opt(update="recreate", parse=stop_signal), ("Config", "StopSignal"),
                       ("config", "stop_signal"), None, _read_signal),
    "pid_mode": Row(Opt(update="recreate", parse=pid_mode), ("HostConfig", "PidMode"), ("host", "pid_mode"),
                    "private", _read_namespace, lambda mode: None if mode == "private" else mode),
    "ipc_mode": Row(Opt(update="recreate", parse=ipc_mode), ("HostConfig", "IpcMode"), ("host", "ipc_mode"),
                    "private", _read_namespace),
    "runtime": Row(Opt(update="recreate", parse=runtime_name), ("HostConfig", "Runtime"), ("host", "runtime"),
                   "runc"),
    "platform": Row(Opt(update="recreate", parse=platform), None, ("config", "platform"), None, _read_platform),
    "exposed_ports": Row(Opt(type="list", elements="str", aliases=["exposed", "expose"], compare="set",
                             update="recreate", parse=exposed_ports),
                         ("Config", "ExposedPorts"), ("config", "ports"), [], _read_exposed, _send_ports),
    "publish_all_ports": Row(Opt(type="bool", update="recreate"), ("HostConfig", "PublishAllPorts"),
                             ("host", "publish_all_ports"), False, _flag),
    # an instruction, not a property: the address published_ports without one bind to
    "default_host_ip": Row(Opt(parse=host_ip), None),
}

OPTIONS = {name: row.opt for name, row in ROWS.items()}
DEFAULTS = {name: row.default for name, row in ROWS.items() if row.default is not None}
# live options docker's update API reads 0 / "" of as "leave as is": lifting them needs a recreate
LIVE = tuple(name for name, row in ROWS.items() if row.live)


# ---------------------------------------------------------------- the service's merge points

def adjust(desired):
    """Checks across options (before anything is read) and published_ports bound to
    default_host_ip; returns a new dict."""
    out = dict(desired)
    memory, swap, reservation = desired.get("memory"), desired.get("memory_swap"), desired.get("memory_reservation")
    if swap and swap > 0 and not (memory and swap >= memory):
        raise InputError("memory_swap", "limits memory and swap together, so it needs memory and must be at least "
                                        "memory (-1: unlimited swap)")
    if reservation and memory and reservation > memory:
        raise InputError("memory_reservation", "must not exceed memory")
    mode = desired.get("network_mode") or ""
    if mode.startswith("container:"):  # the other container's network stack: dockerd refuses these
        for option in ("dns_servers", "etc_hosts", "exposed_ports", "publish_all_ports"):
            if desired.get(option):
                raise InputError(option, "a container with network_mode=%s uses that container's network "
                                         "settings; leave %s out" % (mode, option))
    if mode == "host" and any(k.startswith("net.") for k in desired.get("sysctls") or {}):
        raise InputError("sysctls", "net.* parameters are the host's own with network_mode=host; leave them out")
    address = desired.get("default_host_ip")
    if address and address not in ("0.0.0.0", "::") and desired.get("published_ports"):
        # canonical bindings are IP:HOST_PORT:PORT/PROTO, with IP '' where the user named no address
        bound = [address + b if not b.rsplit(":", 2)[0] else b for b in desired["published_ports"]]
        out["published_ports"] = ports.parse_all([ports.display(b) for b in bound])
    return out


def resolve(service, desired, observed, batch=None):
    """What the options need from the Docker host, checked before anything changes: the
    container a pid/ipc mode joins (its ID: Docker stores the namespace by ID), the runtime, the
    image's platform, the devices (when dockerd runs on this host). Returns the changed values,
    and under `runtime_defaults` what a new container gets from its image (for the prediction)."""
    out = {}
    image = service._inspect("image", desired["image"], batch) if desired.get("image") else None
    if image:
        out["runtime_defaults"] = {"stop_signal": _read_signal(None, {"image": image}),
                                   "platform": _image_platform(image)}
    for option in ("pid_mode", "ipc_mode"):
        mode = desired.get(option) or ""
        if mode.startswith("container:"):
            target = service._inspect("container", mode.split(":", 1)[1], batch)
            if target is None:
                raise InputError(option, "container %r does not exist; create it first" % mode.split(":", 1)[1])
            out[option] = "container:" + target["Id"]
    wanted = desired.get("runtime")
    if wanted and wanted != (observed or {}).get("runtime"):
        known = sorted((service.api.info().get("Runtimes") or {}))
        if wanted not in known:
            raise InputError("runtime", "%r is not a runtime of this Docker host (it has %s); register it in "
                                        "dockerd's configuration first" % (wanted, ", ".join(known)))
    if desired.get("platform") and image:
        actual = _image_platform(image)
        if actual and not _matches(desired["platform"], actual):
            raise InputError("platform", "image %s is for %s, not %s; pull or build it for that platform first"
                                         % (desired["image"], actual, desired["platform"]))
    if desired.get("devices") and str(service.params.get("docker_host", "")).startswith("unix://"):
        for entry in desired["devices"]:
            host = entry.split(":")[0]
            if not os.path.exists(host):
                raise InputError("devices", "%s does not exist on the Docker host" % host)
    return out


def observe(info, image, desired):
    """The runtime options of an inspected container, normalised like the desired ones."""
    ctx = {"host": info.get("HostConfig") or {}, "image": image or {}, "desired": desired}
    out = {}
    for name, row in ROWS.items():
        if row.opt.update is None:
            continue
        stored = (info.get(row.field[0]) or {}).get(row.field[1]) if row.field else None
        out[name] = row.read(stored, ctx)
    return out


def _kwargs(desired, where, base):
    out = dict(base)
    for name, row in ROWS.items():
        if row.send and row.send[0] == where and desired.get(name) is not None:
            value = row.write(desired[name])
            if value is not None:
                out[row.send[1]] = value
    return out


def host_config_kwargs(desired, base):
    """`base` (create_host_config's other arguments) with the runtime options set."""
    return _kwargs(desired, "host", base)


def config_kwargs(desired, base):
    """`base` (create_container's other arguments) with the runtime options set; exposed ports
    join those the published ports expose."""
    out = _kwargs(desired, "config", base)
    out["ports"] = sorted(set(base.get("ports") or []) | set(out.get("ports") or [])) or None
    return out


def update_body(desired, options):
    """Fields of POST /containers/{id}/update for the live options that changed; MemorySwap goes
    with a changed memory limit too (it must stay at least the memory limit)."""
    body = {ROWS[name].live: desired[name] for name in options if ROWS.get(name) and ROWS[name].live}
    if "memory" in options and desired.get("memory_swap"):
        body["MemorySwap"] = desired["memory_swap"]
    return body
