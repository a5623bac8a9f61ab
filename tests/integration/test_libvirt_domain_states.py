"""Guests that got into a run state by themselves, against the real qemu:///system: a guest whose
kernel panicked and that libvirt kept (on_crash=preserve), and one that suspended itself to RAM (S3).
libvirt_domain brings both to every state, libvirt_domain_info reports and filters them; virsh is the
independent path. The tiny test guest panics on an NMI and suspends itself on its kernel command line
(see tests/lib/guest.py). Also libvirt_domain_info's XML, which never holds the VNC password."""

from __future__ import annotations

import os

from conftest import run_module  # noqa: E402
from lib.guest import GUEST_MARKER
from test_libvirt_domain import URI, guest, idempotent, read, tiny, virsh, wait_for, workdir  # noqa: E402,F401 pylint: disable=unused-import

# kept when it panics (pvpanic tells QEMU), allowed to suspend to RAM
STATES_XML = ("<domain><on_crash>preserve</on_crash><pm><suspend-to-mem enabled='yes'/></pm>"
              "<devices><panic model='isa'/></devices></domain>")


def states_guest(name, workdir, hook, **extra):
    return tiny(name, workdir, cmdline="console=ttyS0 panic=-1 " + hook, xml=STATES_XML, shutdown_timeout=60,
                **extra)


def domstate(name):
    return virsh("domstate", "--reason", name).stdout.strip()


def booted(name, log):
    """Wait until the guest's userspace runs; returns its domain ID."""
    wait_for(lambda: GUEST_MARKER in read(log), "the guest's marker on its serial console")
    return virsh("domid", name).stdout.strip()


def restart_fresh(name, log):
    """Start the guest again (virsh, not the module) with an empty console log."""
    virsh("destroy", name, check=False)
    open(log, "w").close()
    virsh("start", name)


def crash(name, log):
    booted(name, log)
    virsh("inject-nmi", name)
    wait_for(lambda: domstate(name).startswith("crashed"), "the guest to panic (%s)" % domstate(name))
    assert domstate(name) == "crashed (panicked)"


def test_a_crashed_guest_is_powered_off_and_started_again(guest, workdir):
    log = os.path.join(workdir, "console.log")
    spec = states_guest(guest, workdir, "unknown_nmi_panic", graphics={"type": "vnc", "password": "s3cr3t"})
    run_module("libvirt_domain", state="running", **spec)
    first = booted(guest, log)

    # libvirt_domain_info returns the definition, live or inactive, never with the VNC password
    assert "passwd='s3cr3t'" in virsh("dumpxml", "--security-info", guest).stdout  # libvirt has it
    live = run_module("libvirt_domain_info", uri=URI, name=[guest], xml="live")["domains"][0]
    inactive = run_module("libvirt_domain_info", uri=URI, name=[guest], xml="inactive")["domains"][0]
    port = live["graphics"][0]["port"]
    assert port >= 5900 and "port='%d'" % port in live["xml"] and "id='%s'" % first in live["xml"]
    assert "port='-1'" in inactive["xml"] and "<on_crash>preserve</on_crash>" in inactive["xml"]
    assert "s3cr3t" not in live["xml"] + inactive["xml"] and "passwd" not in live["xml"] + inactive["xml"]

    crash(guest, log)
    found = run_module("libvirt_domain_info", uri=URI, name=[guest], state=["crashed"])["domains"]
    assert [(d["name"], d["state"], str(d["id"])) for d in found] == [(guest, "crashed", first)]
    kept = run_module("libvirt_domain", **spec)  # present keeps it as it is, and says how it is
    assert kept["changed"] is False and kept["domain"]["state"] == "crashed"

    open(log, "w").close()
    running = idempotent("libvirt_domain", state="running", **spec)
    assert running["actions"] == ["power off crashed guest %s" % guest, "start guest %s" % guest]
    assert running["domain"]["state"] == "running" and domstate(guest) == "running (booted)"
    assert booted(guest, log) != first  # a new QEMU process, and its guest reaches userspace

    crash(guest, log)
    paused = idempotent("libvirt_domain", state="paused", **spec)
    assert paused["actions"] == ["power off crashed guest %s" % guest, "start guest %s paused" % guest]
    assert domstate(guest) == "paused (user)"

    restart_fresh(guest, log)
    crash(guest, log)
    stopped = idempotent("libvirt_domain", state="shutdown", **spec)
    assert stopped["actions"] == ["power off crashed guest %s" % guest]
    assert domstate(guest) == "shut off (destroyed)"


def test_a_suspended_guest_is_woken_up(guest, workdir):
    log = os.path.join(workdir, "console.log")
    spec = states_guest(guest, workdir, "vct.suspend")

    def suspended():
        wait_for(lambda: domstate(guest).startswith("pmsuspended"), "the guest to suspend (%s)" % domstate(guest))

    run_module("libvirt_domain", state="running", **spec)
    suspended()
    found = run_module("libvirt_domain_info", uri=URI, name=[guest], state=["pmsuspended"])["domains"]
    assert [(d["name"], d["state"]) for d in found] == [(guest, "pmsuspended")]
    kept = run_module("libvirt_domain", **spec)
    assert kept["changed"] is False and kept["domain"]["state"] == "pmsuspended"

    running = idempotent("libvirt_domain", state="running", **spec)
    assert running["actions"] == ["wake up guest %s" % guest]
    assert domstate(guest) == "running (event wakeup)"
    wait_for(lambda: "VCT-RESUMED" in read(log), "the guest to say it resumed")
    ticks = read(log).count("VCT-DEVICES")
    wait_for(lambda: read(log).count("VCT-DEVICES") > ticks, "the woken guest to go on running")

    restart_fresh(guest, log)
    suspended()
    paused = idempotent("libvirt_domain", state="paused", **spec)
    assert paused["actions"] == ["wake up guest %s" % guest, "pause guest %s" % guest]
    assert domstate(guest) == "paused (user)"

    restart_fresh(guest, log)
    suspended()
    stopped = idempotent("libvirt_domain", state="shutdown", **spec)
    assert stopped["actions"] == ["shut down guest %s" % guest]
    assert domstate(guest) == "shut off (shutdown)"
    assert "reboot: Power down" in read(log)  # woken up, it saw the power button and powered itself off
