# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""libvirt_domain's `wait_for`: after a real run, wait until the running guest has an address
(DHCP leases of libvirt's networks, then the guest agent, then the host's ARP table), its guest
agent answers, or a marker appears on its serial console (a serial of type file). On timeout the
error says every source that was asked and what it answered the last time."""

from __future__ import annotations

import json
import os
import time

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError
from ansible_collections.virtcloud.core.plugins.module_utils.common.wait import WaitTimeout, wait_for
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import libvirt
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import from_string

try:
    import libvirt_qemu
except ImportError:  # part of libvirt-python; only the agent probe needs it
    libvirt_qemu = None

INTERVAL = 1.0


def _serial_source(root):
    for tag in ("serial", "console"):
        for el in root.findall("devices/" + tag):
            source = el.find("source")
            if el.get("type") == "file" and source is not None and source.get("path"):
                return source
    return None


def serial_log(root):
    """The file a guest's serial console writes to, from its <domain> tree, or None."""
    source = _serial_source(root)
    return None if source is None else source.get("path")


def log_start(root):
    """Where the console output of a boot that starts now begins in the serial log of the <domain>
    tree `root`: QEMU truncates the file when it starts, unless libvirt is told to append to it
    (append='on'); then the boot's output begins at the file's present size."""
    source = _serial_source(root)
    if source is None or source.get("append") != "on":
        return 0
    try:
        return os.path.getsize(source.get("path"))
    except OSError:
        return 0


def _addresses(dom, source, label):
    found = []
    for iface, info in sorted((dom.interfaceAddresses(source, 0) or {}).items()):
        for addr in info.get("addrs") or []:
            if iface == "lo" or addr["addr"] in ("127.0.0.1", "::1"):
                continue
            found.append({"interface": iface, "mac": info.get("hwaddr"), "address": addr["addr"],
                          "prefix": addr.get("prefix"), "source": label})
    return found


def _probe_ip(dom, root):
    """(addresses, what each source answered), asking the sources in order until one has some."""
    answers = []
    networks = sorted({el.get("network") for el in root.findall("devices/interface/source") if el.get("network")})
    macs = [el.get("address") for el in root.findall("devices/interface/mac")]
    sources = (("lease", "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE",
                "none on network %s" % ", ".join(networks) if networks else "the guest has no NIC on a libvirt network"),
               ("agent", "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT", "no address reported"),
               ("arp", "VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP", "no entry for %s" % (", ".join(macs) or "any MAC")))
    for label, flag, nothing in sources:
        try:
            found = _addresses(dom, getattr(libvirt, flag), label)
        except libvirt.libvirtError as exc:
            answers.append("%s: %s" % (label, exc.get_error_message()))
            continue
        if found:
            return found, answers
        answers.append("%s: %s" % (label, nothing))
    return None, answers


def _probe_agent(dom):
    if libvirt_qemu is None:
        return None, ["agent: libvirt_qemu (part of libvirt-python) cannot be imported"]
    try:
        libvirt_qemu.qemuAgentCommand(dom, json.dumps({"execute": "guest-ping"}), 5, 0)
    except libvirt.libvirtError as exc:
        return None, ["agent: %s" % exc.get_error_message()]
    return True, []


def probe_marker(path, marker, since=0):
    """The first line of the serial log with `marker`, from byte `since` on (from the start when
    the file is shorter now: it was truncated by a start since)."""
    try:
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size >= since:
                handle.seek(since)
            for raw in handle:
                line = raw.decode(errors="replace")
                if marker in line:
                    return line.strip(), []
    except OSError as exc:
        return None, ["serial log %s: %s" % (path, exc.strerror)]
    return None, ["serial log %s: no line with %r yet" % (path, marker)]


def wait(dom, what, timeout, marker=None, since=0):
    """Wait for `what` (ip, agent, marker) on the running guest `dom`; the result keys to add.
    A marker counts from byte `since` of the serial log on (see log_start)."""
    name = dom.name()
    if not dom.isActive():
        raise BackendError("wait_for %s: guest %s is not running" % (what, name))
    root = from_string(dom.XMLDesc(0))
    path = serial_log(root)
    if what == "marker" and path is None:
        raise BackendError("wait_for marker: guest %s has no serial console of type file to read" % name)
    probes = {"ip": lambda: _probe_ip(dom, root), "agent": lambda: _probe_agent(dom),
              "marker": lambda: probe_marker(path, marker, since)}
    started = time.monotonic()
    try:
        value = wait_for(probes[what], lambda got: bool(got[0]), timeout, "%s of guest %s" % (what, name),
                         interval=INTERVAL)[0]
    except WaitTimeout as exc:
        answers = exc.last[1]
        raise BackendError("wait_for %s: guest %s gave nothing in %s s (wait_timeout); tried %s"
                           % (what, name, timeout, "; ".join(answers)), tried=answers)
    waited = round(time.monotonic() - started, 1)
    if what == "ip":
        return {"addresses": value, "address_source": value[0]["source"], "waited": waited}
    if what == "marker":
        return {"marker_line": value, "waited": waited}
    return {"agent": True, "waited": waited}
