# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""domain_info: every guest from bulk listing calls, parsed into facts; nothing is ever changed."""

from __future__ import annotations

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import InfoService, Opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.units import format_size
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_xml as dx
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import LibvirtService, libvirt, listed
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import (
    CRASHED,
    PMSUSPENDED,
    DomainService,
    guests,
)
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain_xml import PAUSED, RUNNING, SHUTDOWN
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.xmledit import from_string


class DomainInfoService(InfoService, LibvirtService):
    """Every guest from bulk listing calls, parsed; nothing is ever changed."""

    result_key = "domains"
    requirements = DomainService.requirements
    options = {
        "name": Opt(type="list", elements="str"),
        "state": Opt(type="list", elements="str", choices=[RUNNING, PAUSED, SHUTDOWN, CRASHED, PMSUSPENDED]),
        "xml": Opt(choices=["inactive", "live"]),
    }

    def observe(self, desired, batch=None):
        names, states = self.params.get("name"), self.params.get("state")
        wanted = [found for name, found in sorted(guests(self.conn).items())
                  if (not names or name in names) and (not states or found[1] in states)]
        return listed(wanted, lambda found: self._describe(*found))

    def _describe(self, dom, state, autostart):
        # The live XML of a running guest: real VNC ports, the devices it has right now.
        live = dom.XMLDesc(0)
        root = dx.normalise(from_string(live))
        out = dx.facts(root)
        out.update(state=state, id=dom.ID() if state != SHUTDOWN else None,
                   autostart=autostart, persistent=bool(dom.isPersistent()))
        out["memory_bytes"], out["current_memory_bytes"] = out["memory"], out["current_memory"]
        out["memory"], out["current_memory"] = format_size(out["memory"]), format_size(out["current_memory"])
        for disk in out["disks"]:
            disk["capacity"] = disk["allocation"] = None
            if disk["target"] and (disk["path"] or disk["volume"]):
                try:
                    disk["capacity"], disk["allocation"] = dom.blockInfo(disk["target"])[:2]
                except libvirt.libvirtError:
                    pass  # e.g. the file is gone; the rest of the facts still matter
        addresses = self._addresses(dom, state, out["guest_agent"])
        for nic in out["nics"]:
            nic["addresses"] = addresses.get((nic["mac"] or "").lower(), [])
        if self.params.get("xml"):
            # Never VIR_DOMAIN_XML_SECURE: without it libvirt leaves graphics passwords out.
            out["xml"] = live if self.params["xml"] == "live" else dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        return out

    @staticmethod
    def _addresses(dom, state, agent):
        """MAC -> ['198.18.90.10/24', ...] from libvirt's DHCP leases, else from the guest agent."""
        if state != RUNNING:
            return {}
        found = {}
        sources = [libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE]
        if agent:
            sources.append(libvirt.VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT)
        for source in sources:
            try:
                ifaces = dom.interfaceAddresses(source, 0)
            except libvirt.libvirtError:
                continue  # no leases for this kind of NIC, or no agent answering
            for iface in ifaces.values():
                mac = (iface.get("hwaddr") or "").lower()
                for addr in iface.get("addrs") or []:
                    entry = "%s/%s" % (addr["addr"], addr["prefix"])
                    if entry not in found.setdefault(mac, []):
                        found[mac].append(entry)
        return found
