"""Run states a guest gets into by itself (crashed, pmsuspended) and domain_info's XML, on libvirt's
test:///default driver. The test driver cannot crash or suspend a guest, so the state libvirt reports
is replaced with the real libvirt codes; tests/integration/test_libvirt_domain_states.py makes a real
guest panic and suspend itself."""

from __future__ import annotations


import libvirt
import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import Batch, execute_many
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import execute
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_ops
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import DomainService, run_state
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain_info import DomainInfoService
from test_domain_service import URI, domain, held_test_driver, name, params  # noqa: F401 pylint: disable=unused-import

CRASHED, PMSUSPENDED = libvirt.VIR_DOMAIN_CRASHED, libvirt.VIR_DOMAIN_PMSUSPENDED


@pytest.fixture
def reported(monkeypatch):
    """name -> the virDomainState code libvirt reports for that guest instead of its own (per guest
    and in the bulk statistics), until the guest is powered off or started again, as libvirt does."""
    codes = {}
    real_state, real_stats = libvirt.virDomain.state, libvirt.virConnect.getAllDomainStats
    real_destroy, real_create = libvirt.virDomain.destroy, libvirt.virDomain.create

    def state(dom, flags=0):
        return [codes[dom.name()], 1] if dom.name() in codes else real_state(dom, flags)

    def stats(conn, kinds, flags=0):
        return [(dom, dict(values, **({"state.state": codes[dom.name()]} if dom.name() in codes else {})))
                for dom, values in real_stats(conn, kinds, flags)]

    def forget(real):
        def call(dom, *args):
            codes.pop(dom.name(), None)
            return real(dom, *args)
        return call

    monkeypatch.setattr(libvirt.virDomain, "state", state)
    monkeypatch.setattr(libvirt.virConnect, "getAllDomainStats", stats)
    monkeypatch.setattr(libvirt.virDomain, "destroy", forget(real_destroy))
    monkeypatch.setattr(libvirt.virDomain, "create", forget(real_create))
    monkeypatch.setattr(libvirt.virDomain, "pMWakeup", lambda dom, flags=0: codes.pop(dom.name()) and 0)
    return codes


def test_run_state_words():
    assert run_state(CRASHED) == "crashed" and run_state(PMSUSPENDED) == "pmsuspended"
    assert [run_state(c) for c in (libvirt.VIR_DOMAIN_RUNNING, libvirt.VIR_DOMAIN_BLOCKED, libvirt.VIR_DOMAIN_PAUSED,
                                   libvirt.VIR_DOMAIN_SHUTOFF, libvirt.VIR_DOMAIN_NOSTATE)] == \
        ["running", "running", "paused", "shutdown", "shutdown"]


@pytest.mark.parametrize("code, want, actions, after", [
    (CRASHED, "running", ["power off crashed guest {0}", "start guest {0}"], "running"),
    (CRASHED, "paused", ["power off crashed guest {0}", "start guest {0} paused"], "paused"),
    (CRASHED, "shutdown", ["power off crashed guest {0}"], "shutdown"),
    (CRASHED, "rebooted", ["power off crashed guest {0}", "start guest {0}"], "running"),
    (CRASHED, "present", [], "crashed"),
    (PMSUSPENDED, "running", ["wake up guest {0}"], "running"),
    (PMSUSPENDED, "paused", ["wake up guest {0}", "pause guest {0}"], "paused"),
    (PMSUSPENDED, "shutdown", ["shut down guest {0}"], "shutdown"),
    (PMSUSPENDED, "rebooted", ["shut down guest {0}", "start guest {0}"], "running"),
    (PMSUSPENDED, "present", [], "pmsuspended"),
])
def test_a_crashed_or_suspended_guest_reaches_every_state(name, reported, code, want, actions, after):
    execute(domain(name=name, memory=64, state="running"))
    reported[name] = code
    expected = [a.format(name) for a in actions]
    spec = dict(name=name, memory=64, state=want, shutdown_timeout=1, force=True)
    predicted = execute(domain(**spec), check_mode=True)
    assert (predicted["actions"], predicted["domain"]["state"]) == (expected, after)
    if "start guest {0} paused" in actions:
        return  # the test driver cannot start a guest paused; the integration test does
    applied = execute(domain(**spec))
    assert (applied["actions"], applied["domain"]["state"]) == (expected, after)
    if want != "rebooted":
        assert execute(domain(**spec))["changed"] is False


def test_batch_plans_the_same(name, reported):
    execute(domain(name=name, memory=64, state="running"))
    execute(domain(name=name + "b", memory=64, state="running"))
    reported.update({name: CRASHED, name + "b": PMSUSPENDED})
    try:
        items = [params(name=name, state="running"), params(name=name + "b", state="running")]
        result = execute_many(Batch(DomainService, "domains"), items, check_mode=True)
        assert result["actions"] == ["power off crashed guest %s" % name, "start guest %s" % name,
                                     "wake up guest %sb" % name]
        assert [r["domain"]["state"] for r in result["results"]] == ["running", "running"]
    finally:
        execute(domain(name=name + "b", state="absent"))


def test_wake_up_waits_until_the_guest_runs(monkeypatch):
    class Dom:
        codes = [PMSUSPENDED, PMSUSPENDED, libvirt.VIR_DOMAIN_RUNNING]
        woken = False

        def pMWakeup(self, flags):
            self.woken = True

        def state(self):
            return [self.codes.pop(0) if self.woken else PMSUSPENDED, 0]

        def name(self):
            return "g"

    monkeypatch.setattr(domain_ops, "wait_for", _fast(domain_ops.wait_for))
    dom = Dom()
    domain_ops.wake_up(dom)
    assert dom.codes == []
    dom = Dom()
    dom.codes = [libvirt.VIR_DOMAIN_SHUTOFF]
    with pytest.raises(Exception, match="guest g did not wake up: it is shut off"):
        domain_ops.wake_up(dom)


def _fast(wait_for):
    return lambda *args, **kw: wait_for(*args, **dict(kw, interval=0.01))


def test_domain_info_reports_and_filters_the_real_state(name, reported):
    execute(domain(name=name, memory=64, state="running"))
    execute(domain(name=name + "b", memory=64, state="running"))
    reported.update({name: CRASHED, name + "b": PMSUSPENDED})
    try:
        def info(**kw):
            return execute(DomainInfoService({"uri": URI, "name": [name, name + "b"], "state": None,
                                              "xml": None, **kw}))["domains"]

        assert [(d["name"], d["state"]) for d in info()] == [(name, "crashed"), (name + "b", "pmsuspended")]
        assert [d["name"] for d in info(state=["crashed"])] == [name]
        assert [d["name"] for d in info(state=["pmsuspended", "shutdown"])] == [name + "b"]
        assert info(state=["running", "paused"]) == []
        assert all(d["id"] for d in info())  # both still have their process
    finally:
        execute(domain(name=name + "b", state="absent"))


VNC = "<devices><graphics type='vnc' port='-1' autoport='yes' passwd='s3cr3t'/></devices>"


def test_domain_info_returns_the_xml_without_secrets(name):
    execute(domain(name=name, memory=64, state="running", xml="<domain>%s</domain>" % VNC))
    conn = libvirt.open(URI)
    dom = conn.lookupByName(name)
    assert "s3cr3t" in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_SECURE)  # libvirt has it: the check can fail

    def info(**kw):
        return execute(DomainInfoService({"uri": URI, "name": [name], "state": None, **kw}))["domains"][0]

    assert "xml" not in info(xml=None)
    inactive, live = info(xml="inactive")["xml"], info(xml="live")["xml"]
    assert inactive == dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert live == dom.XMLDesc(0) and "id='%d'" % dom.ID() in live and "id=" not in inactive.split(">")[0]
    assert "s3cr3t" not in inactive + live and "passwd" not in inactive + live


def test_a_woken_guest_gets_its_power_button_pressed_again(monkeypatch):
    """Linux drops a power button press while it resumes from S3: the shutdown presses again."""
    class Dom:
        def __init__(self):
            self.code, self.presses = PMSUSPENDED, 0

        def isActive(self):
            return True

        def state(self):
            return [self.code, 0]

        def pMWakeup(self, flags):
            self.code = libvirt.VIR_DOMAIN_RUNNING

        def shutdown(self):
            self.presses += 1
            if self.presses == 2:  # the first press came while it was resuming
                self.code = libvirt.VIR_DOMAIN_SHUTOFF

        def name(self):
            return "g"

    class Service:
        params = {"shutdown_timeout": 5, "force": False}

    monkeypatch.setattr(domain_ops, "PRESS_AGAIN", 0.05)
    monkeypatch.setattr(domain_ops, "wait_for", _fast(domain_ops.wait_for))
    dom = Dom()
    domain_ops.shutdown(Service(), dom)
    assert (dom.code, dom.presses) == (libvirt.VIR_DOMAIN_SHUTOFF, 2)


@pytest.mark.parametrize("code, want, restart", [
    (PMSUSPENDED, "present", True), (PMSUSPENDED, "running", True), (PMSUSPENDED, "shutdown", False),
    (CRASHED, "present", True), (CRASHED, "running", False), (CRASHED, "shutdown", False),
])
def test_changed_definition_of_a_crashed_or_suspended_guest_says_when_it_applies(name, reported, code, want, restart):
    """Such a guest still has its QEMU process: a new definition applies once it is started again."""
    execute(domain(name=name, memory=64, state="running"))
    reported[name] = code
    result = execute(domain(name=name, memory=96, state=want, shutdown_timeout=1, force=True), check_mode=True)
    assert "redefine guest %s" % name in result["actions"]
    assert bool(result.get("restart_required")) is restart, result
