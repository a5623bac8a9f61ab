# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Published-port specs: parsing, and one canonical form shared by desired and observed state.

Accepted forms (as `docker run -p`):  CPORT | HPORT:CPORT | IP:HPORT:CPORT | IP::CPORT,
each port may be a range START-END (host and container ranges of equal length, or a host range
for one container port), optionally followed by /tcp, /udp or /sctp; IPv6 addresses in [brackets].
Canonical form of one binding: "IP:HPORT:CPORT/PROTO", IP '' for all addresses, HPORT '' for a
port docker picks.
"""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common import validate
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

_ANY = ("", "0.0.0.0", "::")
_HELP = "use [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO], e.g. '127.0.0.1:8088:80' or '53:53/udp'"


def _range(text, option):
    if not text:
        return []
    first, last = validate.port_range(text, option)
    return list(range(first, last + 1))


def parse(spec, option="published_ports"):
    """One spec -> list of canonical bindings; InputError naming the option when malformed."""
    text = str(spec).strip()
    ip = ""
    if text.startswith("["):  # [IPv6]:HOST:CONTAINER
        ip, sep, text = text[1:].partition("]:")
        if not sep:
            raise InputError(option, "%r is not a port spec; %s" % (spec, _HELP))
    ports, dummy, proto = text.partition("/")
    proto = proto or "tcp"
    if proto not in ("tcp", "udp", "sctp"):
        raise InputError(option, "%r: protocol must be tcp, udp or sctp" % spec)
    parts = ports.split(":")
    if len(parts) == 3 and not ip:
        ip = parts.pop(0)
    if len(parts) > 2 or (ip and len(parts) != 2):
        raise InputError(option, "%r is not a port spec; %s (IPv6 addresses go in [brackets])" % (spec, _HELP))
    if not parts[-1]:
        raise InputError(option, "%r is not a port spec; %s" % (spec, _HELP))
    try:
        ip = validate.ip_address(ip, option) if ip else ""
        cports = _range(parts[-1], option)
        hports = _range(parts[0] if len(parts) == 2 else "", option)
    except InputError as exc:  # say which spec, unless the problem starts with it anyway
        raise InputError(option, exc.problem if exc.problem.startswith(repr(spec)) else "%r: %s" % (spec, exc.problem))
    if ip in _ANY:
        ip = ""
    if hports and len(hports) != len(cports):
        if len(cports) != 1:
            raise InputError(option, "%r: host and container port ranges differ in length" % spec)
        # a host range for one container port: docker picks one port of the range
        return ["%s:%d-%d:%d/%s" % (ip, hports[0], hports[-1], cports[0], proto)]
    return ["%s:%s:%d/%s" % (ip, hports[i] if hports else "", cport, proto) for i, cport in enumerate(cports)]


def parse_all(specs, option="published_ports"):
    if specs is None:
        return None
    out = []
    for spec in specs:
        out.extend(parse(spec, option))
    return sorted(set(out), key=_sort_key)


def _sort_key(binding):
    ip, host, rest = _split(binding)
    return (rest, ip, host)


def _split(binding):
    ip, rest = binding.rsplit(":", 1)[0], binding.rsplit(":", 1)[1]
    ip, host = ip.rsplit(":", 1)
    return ip, host, rest


def from_host_config(port_bindings):
    """HostConfig.PortBindings of an inspected container -> canonical bindings."""
    out = []
    for key, binds in (port_bindings or {}).items():
        port, dummy, proto = key.partition("/")
        for bind in binds or [{}]:
            ip = bind.get("HostIp") or ""
            if ip in _ANY:
                ip = ""
            out.append("%s:%s:%s/%s" % (ip, bind.get("HostPort") or "", port, proto or "tcp"))
    return sorted(set(out), key=_sort_key)


def to_api(bindings):
    """Canonical bindings -> (exposed ports, port_bindings) for docker's create_container."""
    exposed, port_bindings = [], {}
    for binding in bindings:
        ip, host, rest = _split(binding)
        port, proto = rest.split("/")
        key = "%s/%s" % (port, proto)
        if (int(port), proto) not in exposed:
            exposed.append((int(port), proto))
        port_bindings.setdefault(key, []).append({"HostIp": ip, "HostPort": host})
    return exposed, port_bindings


def display(binding):
    """Readable form for results and diffs, in the `docker run -p` syntax."""
    ip, host, rest = _split(binding)
    if not ip:
        return "%s:%s" % (host, rest) if host else rest
    return "%s:%s:%s" % ("[%s]" % ip if ":" in ip else ip, host, rest)


def taken(bindings, entries):
    """Bindings with a fixed host port that a running container of the listing (entries of
    GET /containers/json) already publishes on an overlapping address -> [(binding, container)]."""
    held = {}
    for entry in entries:
        for port in entry.get("Ports") or []:
            if port.get("PublicPort"):
                ip = port.get("IP") or ""
                held.setdefault((port["PublicPort"], port.get("Type") or "tcp"), []).append(
                    ("" if ip in _ANY else ip, (entry.get("Names") or ["/" + entry["Id"][:12]])[0].lstrip("/")))
    out = []
    for binding in bindings:
        ip, host, rest = _split(binding)
        if not host or "-" in host:
            continue  # docker picks the port
        proto = rest.split("/")[1]
        for other_ip, name in held.get((int(host), proto), []):
            if not ip or not other_ip or ip == other_ip:
                out.append((binding, name))
                break
    return out
