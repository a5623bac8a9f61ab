"""The shared checks where the libvirt code uses them: a guest NIC's MAC and VLAN, the shutdown wait."""

from __future__ import annotations

import types

import libvirt
import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common import wait
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_ops
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import DomainService


def test_nic_mac_is_normalised():
    nic = DomainService._nic(0, {"network": "default", "mac": "52-54-00-AB-CD-EF", "vlan": None})
    assert nic == {"network": "default", "mac": "52:54:00:ab:cd:ef", "vlan": None}


@pytest.mark.parametrize("nic, option, fragment", [
    ({"bridge": "b", "mac": "nope"}, "nics[1].mac", "is not a MAC address like 52:54:00:12:34:56"),
    ({"bridge": "b", "mac": "01:00:5e:00:00:01"}, "nics[1].mac", "multicast"),
    ({"ovs_bridge": "b", "vlan": 4095}, "nics[1].vlan", "4095 is not a VLAN ID (1 to 4094)"),
    ({"ovs_bridge": "b", "vlan": 0}, "nics[1].vlan", "0 is not a VLAN ID"),
    ({"ovs_bridge": "b", "vlan": True}, "nics[1].vlan", "True is not a VLAN ID"),  # YAML 'yes'
])
def test_bad_nic(nic, option, fragment):
    with pytest.raises(InputError) as err:
        DomainService._nic(1, nic)
    assert err.value.option == option and fragment in err.value.msg


class Guest:
    """A guest that shuts down after `polls` state reads (never, if None)."""

    def __init__(self, polls):
        self.polls, self.calls = polls, []

    def name(self):
        return "web"

    def isActive(self):
        return True

    def state(self):
        if self.polls is not None and self.polls <= 0:
            return [libvirt.VIR_DOMAIN_SHUTOFF, 0]
        self.polls = None if self.polls is None else self.polls - 1
        return [libvirt.VIR_DOMAIN_RUNNING, 0]

    def __getattr__(self, method):  # shutdown, resume, destroy: recorded
        return lambda *args: self.calls.append(method)


@pytest.fixture
def clock(monkeypatch):
    fake = types.SimpleNamespace(now=0.0)
    fake.monotonic = lambda: fake.now
    fake.sleep = lambda seconds: setattr(fake, "now", fake.now + seconds)
    monkeypatch.setattr(wait, "time", fake)
    return fake


def shutdown(guest, force):
    domain_ops.shutdown(types.SimpleNamespace(params={"shutdown_timeout": 10, "force": force}), guest)


def test_shutdown_waits_for_the_guest(clock):
    guest = Guest(polls=4)  # one read for "is it paused?", three while waiting
    shutdown(guest, force=False)
    assert guest.calls == ["shutdown"] and clock.now == 1.5


def test_shutdown_timeout_says_what_and_how_to_force(clock):
    guest = Guest(polls=None)
    with pytest.raises(BackendError) as err:
        shutdown(guest, force=False)
    assert err.value.msg == ("timed out after 10 s waiting for guest web to shut down (shutdown_timeout); last seen: "
                             "running; does it handle ACPI power button events? Set force=true to power it off")
    assert guest.calls == ["shutdown"] and clock.now == 10.0


def test_shutdown_timeout_with_force_powers_off(clock):
    guest = Guest(polls=None)
    shutdown(guest, force=True)
    assert guest.calls == ["shutdown", "destroy"]


def test_objects_gone_between_listing_and_reading_are_skipped():
    """Another task removed a network while this one read the listing: it is not there, no failure
    ("Network not found" used to fail libvirt_network's overlap check and the info modules)."""
    import libvirt

    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import listed

    def gone(code):
        exc = libvirt.libvirtError("gone")
        exc.get_error_code = lambda: code
        return exc

    def read(obj):
        if isinstance(obj, Exception):
            raise obj
        return obj * 2

    assert listed([1, gone(libvirt.VIR_ERR_NO_NETWORK), 2, gone(libvirt.VIR_ERR_NO_DOMAIN)], read) == [2, 4]
    with pytest.raises(libvirt.libvirtError):
        listed([gone(libvirt.VIR_ERR_INTERNAL_ERROR)], read)
