"""virtcloud.core.libvirt_domain / domains / domain_info against the real qemu:///system.

Guests use virt_type=qemu (TCG): KVM guests hang on this host (see host-recipe.md). Every check is
made twice where it matters: through the module (changed / idempotence / check mode) and through
virsh (the independent path).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time

import pytest
from lxml import etree

from conftest import run_module, sh  # noqa: E402
from lib.guest import GUEST_MARKER, guest_assets
from lib.sshhost import ssh_host

URI = "qemu:///system"


def virsh(*argv, check=True):
    return sh("virsh", "-c", URI, *argv, check=check)


def wait_for(predicate, what, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError("timed out waiting for " + what)


def read(path):
    try:
        with open(path, errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def last_devices(log):
    lines = [line for line in read(log).splitlines() if line.startswith("VCT-DEVICES")]
    return lines[-1] if lines else ""


def idempotent(module, **args):
    """check mode predicts a change and changes nothing -> apply -> rerun and check-mode rerun are
    no-ops. Returns the applied result."""
    predicted = run_module(module, check=True, diff=True, **args)
    assert predicted.get("changed") is True, predicted
    applied = run_module(module, diff=True, **args)
    assert applied.get("changed") is True, applied
    assert applied["actions"] == predicted["actions"]
    again = run_module(module, **args)
    assert again.get("changed") is False, again
    checked = run_module(module, check=True, **args)
    assert checked.get("changed") is False, checked
    return applied


@pytest.fixture
def workdir():
    with tempfile.TemporaryDirectory(prefix="vct-domain-") as path:
        os.chmod(path, 0o755)
        yield path


@pytest.fixture
def guest(libvirt_daemon, unique):
    """A guest name; whatever the test leaves behind is removed, also on failure."""
    yield unique
    virsh("destroy", unique, check=False)
    virsh("undefine", unique, "--nvram", "--managed-save", "--snapshots-metadata", check=False)
    virsh("undefine", unique, check=False)


@pytest.fixture
def network(libvirt_daemon, unique):
    """An isolated libvirt network of our own in 198.18.0.0/15 (never the stock 'default')."""
    name = unique + "n"
    octet = 90 + int(unique[-2:], 16) % 10
    xml = ("<network><name>%s</name><bridge name='%s'/><ip address='198.18.%d.1' netmask='255.255.255.0'>"
           "<dhcp><range start='198.18.%d.10' end='198.18.%d.99'/></dhcp></ip></network>"
           % (name, "vbr" + unique[3:10], octet, octet, octet))
    with tempfile.NamedTemporaryFile("w", suffix=".xml") as handle:
        handle.write(xml)
        handle.flush()
        virsh("net-define", handle.name)
    try:
        virsh("net-start", name)
        yield name
    finally:  # also when the start failed: the definition is ours either way
        virsh("net-destroy", name, check=False)
        virsh("net-undefine", name, check=False)


def tiny(name, workdir, **extra):
    kernel, initrd = guest_assets()
    spec = dict(name=name, uri=URI, virt_type="qemu", memory="192MiB", vcpus=1,
                kernel=kernel, initrd=initrd, cmdline="console=ttyS0 panic=-1",
                serial={"type": "file", "path": os.path.join(workdir, "console.log")})
    spec.update(extra)
    return spec


def test_tiny_guest_lifecycle_with_live_attach(guest, network, workdir):
    log = os.path.join(workdir, "console.log")
    spec = tiny(guest, workdir, title="virtcloud test guest")

    # define: nothing exists in check mode, then it does
    predicted = run_module("libvirt_domain", check=True, **spec)
    assert predicted["changed"] and virsh("dominfo", guest, check=False).returncode != 0
    defined = idempotent("libvirt_domain", **spec)
    assert defined["domain"]["state"] == "shutdown"
    uuid = defined["domain"]["uuid"]
    info = virsh("dominfo", guest).stdout
    assert re.search(r"State:\s+shut off", info) and uuid in info
    dumped = virsh("dumpxml", "--inactive", guest).stdout
    assert "<domain type='qemu'" in dumped and "<acpi/>" in dumped
    assert "<memory unit='KiB'>196608</memory>" in dumped

    # start: reaches userspace
    running = idempotent("libvirt_domain", state="running", **spec)
    assert running["domain"]["state"] == "running" and running["domain"]["uuid"] == uuid
    wait_for(lambda: GUEST_MARKER in read(log), "the guest's marker on its serial console")
    assert "running" in virsh("domstate", guest).stdout

    # attach a disk and a NIC to the running guest: live + config, the guest sees them
    disk = os.path.join(workdir, "data.qcow2")
    sh("qemu-img", "create", "-f", "qcow2", disk, "16M")
    grown = dict(spec, state="running", disks=[{"path": disk}], nics=[{"network": network}])
    attached = idempotent("libvirt_domain", **grown)
    assert not attached.get("restart_required"), attached
    assert any(a.startswith("attach disk vda") for a in attached["actions"]), attached["actions"]
    assert any(a.startswith("attach NIC") for a in attached["actions"]), attached["actions"]
    mac = attached["domain"]["nics"][0]["mac"]
    assert re.match(r"52:54:00(:[0-9a-f]{2}){3}$", mac)
    wait_for(lambda: "block=vda," in last_devices(log) and "eth0" in last_devices(log),
             "the guest to see vda and eth0 (last: %s)" % last_devices(log))
    assert disk in virsh("domblklist", guest).stdout                       # live
    assert disk in virsh("domblklist", guest, "--inactive").stdout         # and persistent
    assert mac in virsh("domiflist", guest).stdout and network in virsh("domiflist", guest).stdout
    assert mac in virsh("dumpxml", "--inactive", guest).stdout             # MAC kept, not regenerated

    # current memory changes live; a vCPU change needs a restart and says so
    smaller = run_module("libvirt_domain", **{**grown, "memory": "192MiB", "current_memory": "160MiB"})
    assert smaller["changed"] and not smaller.get("restart_required"), smaller
    assert any(a.startswith("set memory of running guest") for a in smaller["actions"]), smaller
    # (the balloon target; this tiny guest has no balloon driver to report the used memory back)
    assert "<currentMemory unit='KiB'>163840</currentMemory>" in virsh("dumpxml", "--inactive", guest).stdout
    more_cpus = run_module("libvirt_domain", **{**grown, "current_memory": "160MiB", "vcpus": 2})
    assert more_cpus["changed"] and more_cpus["restart_required"] is True, more_cpus
    assert "<vcpu placement='static'>2</vcpu>" in virsh("dumpxml", "--inactive", guest).stdout
    assert re.search(r"CPU\(s\):\s+1\n", virsh("dominfo", guest).stdout)  # still the old live value
    grown.update(current_memory="160MiB", vcpus=2)
    assert run_module("libvirt_domain", **grown)["changed"] is False

    # detach the NIC live: the guest loses eth0, the definition loses it too
    shrunk = idempotent("libvirt_domain", **{**grown, "nics": []})
    assert shrunk["actions"] == ["detach NIC %s on %s from running guest %s" % (mac, network, guest)]
    wait_for(lambda: "eth0" not in last_devices(log) and "block=vda," in last_devices(log),
             "the guest to lose eth0 (last: %s)" % last_devices(log))
    assert mac not in virsh("domiflist", guest).stdout
    assert mac not in virsh("dumpxml", "--inactive", guest).stdout
    grown["nics"] = [{"network": network, "mac": mac}]
    assert run_module("libvirt_domain", **grown)["actions"][0].startswith("attach NIC %s" % mac)

    # graceful shutdown (the guest powers off on the ACPI power button)
    stopped = idempotent("libvirt_domain", **{**grown, "state": "shutdown", "shutdown_timeout": 60})
    assert stopped["domain"]["state"] == "shutdown"
    assert "shut off" in virsh("domstate", guest).stdout
    assert mac in virsh("domiflist", guest).stdout                        # same MAC after restart

    # absent: undefined, storage kept unless asked
    gone = idempotent("libvirt_domain", name=guest, uri=URI, state="absent")
    assert gone["domain"] == {}
    assert virsh("dominfo", guest, check=False).returncode != 0
    assert os.path.exists(disk)


def test_rebooted_applies_pending_config(guest, workdir):
    spec = tiny(guest, workdir, state="running")
    run_module("libvirt_domain", **spec)
    pending = run_module("libvirt_domain", **{**spec, "vcpus": 2})
    assert pending["restart_required"] is True
    rebooted = run_module("libvirt_domain", **{**spec, "vcpus": 2, "state": "rebooted", "force": True, "shutdown_timeout": 30})
    assert rebooted["changed"] and "restart_required" not in rebooted, rebooted
    assert re.search(r"CPU\(s\):\s+2\n", virsh("dominfo", guest).stdout)
    paused = idempotent("libvirt_domain", **{**spec, "vcpus": 2, "state": "paused"})
    assert paused["domain"]["state"] == "paused" and "paused" in virsh("domstate", guest).stdout
    run_module("libvirt_domain", name=guest, uri=URI, state="absent")


RICH_XML = """
<domain type='qemu'>
  <name>ignored-the-name-option-wins</name>
  <memory unit='MiB'>128</memory>
  <currentMemory unit='KiB'>131072</currentMemory>
  <vcpu placement='static'>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='hd'/>
    <boot dev='cdrom'/>
    <bootmenu enable='no'/>
  </os>
  <features><acpi/><apic/><pae/></features>
  <clock offset='utc'>
    <timer name='rtc' tickpolicy='catchup'/>
    <timer name='pit' tickpolicy='delay'/>
  </clock>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='@DISK@'/>
      <target dev='vda' bus='virtio'/>
      <serial>vct-serial-1</serial>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='hdc' bus='ide'/>
      <readonly/>
    </disk>
    <controller type='usb' index='0' model='piix3-uhci'/>
    <controller type='virtio-serial' index='0'/>
    <interface type='network'>
      <mac address='52:54:00:AB:CD:EF'/>
      <source network='@NET@'/>
      <model type='e1000'/>
    </interface>
    <interface type='user'>
      <model type='virtio'/>
    </interface>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    <input type='tablet' bus='usb'/>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <video><model type='cirrus' vram='16384' heads='1'/></video>
    <watchdog model='i6300esb' action='reset'/>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='virtio'/>
  </devices>
</domain>
"""


def test_rich_xml_is_idempotent(guest, network, workdir):
    disk = os.path.join(workdir, "rich.qcow2")
    sh("qemu-img", "create", "-f", "qcow2", disk, "16M")
    xml = RICH_XML.replace("@DISK@", disk).replace("@NET@", network)
    spec = dict(name=guest, uri=URI, xml=xml, virt_type="qemu")
    idempotent("libvirt_domain", **spec)
    dumped = virsh("dumpxml", "--inactive", guest).stdout
    for needle in ("52:54:00:ab:cd:ef", "i6300esb", "org.qemu.guest_agent.0", "vct-serial-1", "cirrus"):
        assert needle in dumped, needle
    # a modelled option on top of the XML changes just that
    titled = run_module("libvirt_domain", **{**spec, "title": "rich"})
    assert titled["changed"] and titled["domain"]["title"] == "rich"
    assert run_module("libvirt_domain", **{**spec, "title": "rich"})["changed"] is False


def test_bad_input_defines_nothing(guest, workdir, libvirt_daemon):
    spec = tiny(guest, workdir)
    cases = [
        (dict(memory="12 parsecs"), "memory:"),
        (dict(memory="128MiB", current_memory="256MiB"), "current_memory:"),
        (dict(nics=[{"network": "vct-no-such-network"}]), "nics[0].network:"),
        (dict(disks=[{"pool": "vct-no-such-pool", "volume": "x"}]), "disks[0].pool:"),
        (dict(uri="qemu+unix:///system?socket=/nonexistent/sock"), "uri"),
    ]
    for extra, expected in cases:
        result = run_module("libvirt_domain", **dict(spec, **extra))
        assert result.get("failed") and expected in result["msg"], (extra, result)
    assert virsh("dominfo", guest, check=False).returncode != 0


def test_names_libvirt_refuses_are_refused_before_anything_is_touched(guest, workdir, libvirt_daemon):
    """check mode used to predict a define that libvirt then refused. The rules are libvirt's own:
    virsh refuses the same names, and takes the longest name the module allows."""
    longest = guest + "x" * (247 - len(guest))
    cases = [("", "must not be empty"), (guest + "/x", "cannot contain '/'"),
             (guest + "\nx", "cannot contain a newline"), (longest + "x", "at most 247")]
    for name, expected in cases:
        for check in (True, False):
            result = run_module("libvirt_domain", check=check, name=name, uri=URI, virt_type="qemu", memory="64MiB")
            assert result.get("failed") and result["msg"].startswith("name:") and expected in result["msg"], result
        if name:
            root = etree.fromstring("<domain type='qemu'><name/><memory unit='MiB'>64</memory>"
                                    "<os><type arch='x86_64'>hvm</type></os></domain>")
            root.find("name").text = name
            path = os.path.join(workdir, "refused.xml")
            with open(path, "wb") as handle:
                handle.write(etree.tostring(root))
            assert virsh("define", path, check=False).returncode != 0, name
    assert not [n for n in virsh("list", "--all", "--name").stdout.split() if n.startswith(guest)]
    try:
        idempotent("libvirt_domain", name=longest, uri=URI, virt_type="qemu", memory="64MiB")
        assert virsh("domstate", longest).stdout.strip() == "shut off"
    finally:
        virsh("undefine", longest, check=False)


@pytest.fixture
def remote(libvirt_daemon, unique):
    """Another "host" over real SSH (a network namespace with its own sshd, tests/lib/sshhost.py)
    whose qemu+ssh:// URI reaches this machine's libvirtd."""
    with ssh_host(unique[:12], 252) as host:
        yield host


def test_remote_uri_over_ssh(guest, remote):
    """uri: qemu+ssh:// manages the guest through SSH; virsh on the local socket sees the same
    guest. A host that does not answer is one error naming the uri."""
    uri = remote.libvirt_uri()
    spec = dict(name=guest, uri=uri, virt_type="qemu", memory="64MiB", vcpus=1)
    applied = idempotent("libvirt_domain", **spec)
    assert virsh("domuuid", guest).stdout.strip() == applied["domain"]["uuid"]
    assert virsh("domstate", guest).stdout.strip() == "shut off"
    info = run_module("libvirt_domain_info", uri=uri, name=[guest])
    assert [d["uuid"] for d in info["domains"]] == [applied["domain"]["uuid"]]
    assert run_module("libvirt_domain", uri=uri, name=guest, state="absent")["changed"]
    assert virsh("dominfo", guest, check=False).returncode != 0

    closed = uri.replace(remote.address, remote.address + ":2222")  # no sshd on that port
    down = run_module("libvirt_domain", **{**spec, "uri": closed})
    assert down.get("failed") and "(uri)" in down["msg"] and "Connection refused" in down["msg"], down
    assert virsh("dominfo", guest, check=False).returncode != 0


def test_failed_define_leaves_nothing_behind(guest, workdir, libvirt_daemon):
    # libvirt refuses the start (missing kernel file) after the define succeeded: the define is undone
    spec = tiny(guest, workdir, kernel=os.path.join(workdir, "missing-vmlinuz"), state="running")
    result = run_module("libvirt_domain", **spec)
    assert result.get("failed") and "rolled back: define guest" in result["msg"], result
    assert virsh("dominfo", guest, check=False).returncode != 0


@pytest.fixture
def guests(libvirt_daemon, unique):
    names = ["%s-%d" % (unique, i) for i in range(3)]
    yield names
    for name in names:
        virsh("destroy", name, check=False)
        virsh("undefine", name, check=False)


def test_domains_batch(guests, workdir):
    kernel, initrd = guest_assets()
    items = [dict(name=name, virt_type="qemu", memory=128, kernel=kernel, initrd=initrd) for name in guests]
    first = idempotent("libvirt_domains", uri=URI, domains=items)
    assert [r["domain"]["name"] for r in first["results"]] == guests
    assert all(r["actions"] == ["define guest %s" % r["domain"]["name"]] for r in first["results"])
    listed = virsh("list", "--all", "--name").stdout.split()
    assert all(name in listed for name in guests)
    assert "<memory unit='KiB'>131072</memory>" in virsh("dumpxml", "--inactive", guests[1]).stdout

    items[1]["title"] = "second"
    changed = run_module("libvirt_domains", uri=URI, domains=items)
    assert [r["changed"] for r in changed["results"]] == [False, True, False]
    assert "<title>second</title>" in virsh("dumpxml", "--inactive", guests[1]).stdout

    bad = run_module("libvirt_domains", uri=URI, domains=items + [dict(name=guests[0] + "x", memory="lots")])
    assert bad.get("failed") and bad["msg"].startswith("domains[3].memory:"), bad

    gone = idempotent("libvirt_domains", uri=URI, domains=[dict(name=n, state="absent") for n in guests])
    assert len(gone["results"]) == 3
    listed = virsh("list", "--all", "--name").stdout.split()
    assert not any(name in listed for name in guests)


def test_domains_start_and_shut_down_side_by_side(guests, workdir):
    """The batch applies guests concurrently: all three boot to userspace, then all three power off
    on the ACPI button, and each step is idempotent."""
    items = [dict(tiny(name, workdir, serial={"type": "file", "path": os.path.join(workdir, name + ".log")}),
                  state="running") for name in guests]
    for item in items:
        del item["uri"]
    started = idempotent("libvirt_domains", uri=URI, domains=items)
    assert [r["actions"] for r in started["results"]] == [
        ["define guest %s" % name, "start guest %s" % name] for name in guests]
    assert [r["domain"]["state"] for r in started["results"]] == ["running"] * 3
    for name in guests:
        wait_for(lambda name=name: GUEST_MARKER in read(os.path.join(workdir, name + ".log")),
                 "guest %s's marker on its serial console" % name)
        assert "running" in virsh("domstate", name).stdout

    stopped = idempotent("libvirt_domains", uri=URI,
                         domains=[dict(item, state="shutdown", shutdown_timeout=60) for item in items])
    assert [r["actions"] for r in stopped["results"]] == [["shut down guest %s" % name] for name in guests]
    for name in guests:
        assert "shut off" in virsh("domstate", name).stdout


def test_domain_info(guest, network, workdir):
    disk = os.path.join(workdir, "info.qcow2")
    sh("qemu-img", "create", "-f", "qcow2", disk, "32M")
    spec = tiny(guest, workdir, disks=[{"path": disk}], nics=[{"network": network, "mac": "52:54:00:18:00:01"}],
                graphics={"type": "vnc", "password": "s3cretvn"}, autostart=False, state="running")
    created = run_module("libvirt_domain", **spec)
    assert created.get("changed") and "s3cretvn" not in repr(created), created
    info = run_module("libvirt_domain_info", check=True, uri=URI, name=[guest])
    assert info["changed"] is False and len(info["domains"]) == 1, info
    facts = info["domains"][0]
    assert facts["name"] == guest and facts["state"] == "running" and facts["vcpus"] == 1
    assert facts["memory"] == "192 MiB" and facts["id"]
    assert facts["disks"][0]["path"] == disk and facts["disks"][0]["capacity"] == 32 * 1024 * 1024
    assert facts["nics"][0]["mac"] == "52:54:00:18:00:01" and facts["nics"][0]["network"] == network
    assert facts["graphics"][0]["type"] == "vnc" and facts["graphics"][0]["port"] >= 5900
    assert facts["graphics"][0]["listen"] == "127.0.0.1" and "s3cretvn" not in repr(info)
    vnc = virsh("vncdisplay", guest).stdout.strip()
    assert vnc.startswith("127.0.0.1:") and 5900 + int(vnc.split(":")[1]) == facts["graphics"][0]["port"]

    # the guest asks for a DHCP lease: its address shows up from libvirt's leases
    def leased():
        nics = run_module("libvirt_domain_info", uri=URI, name=[guest])["domains"][0]["nics"]
        return nics[0]["addresses"]
    wait_for(leased, "a DHCP lease for the guest's NIC")
    assert re.match(r"198\.18\.\d+\.\d+/24$", leased()[0])
    stopped = run_module("libvirt_domain_info", uri=URI, name=[guest], state=["shutdown"])
    assert stopped["domains"] == []
    # the password is compared (it is read back with the secure flag): the same one is no change
    assert run_module("libvirt_domain", **spec)["changed"] is False
    assert run_module("libvirt_domain", **{**spec, "graphics": {"type": "vnc", "password": "other"}})["restart_required"]


@pytest.fixture
def pool(libvirt_daemon, unique, workdir):
    """A dir storage pool of our own."""
    name = unique + "p"
    path = os.path.join(workdir, "pool")
    os.mkdir(path)
    virsh("pool-define-as", name, "dir", "--target", path)
    virsh("pool-start", name)
    yield name
    virsh("pool-destroy", name, check=False)
    virsh("pool-undefine", name, check=False)


def test_pool_volume_created_kept_and_removed_on_request(guest, pool, workdir):
    spec = tiny(guest, workdir, disks=[{"pool": pool, "volume": guest + ".qcow2", "size": "64MiB"},
                                       {"device": "cdrom"}])
    applied = idempotent("libvirt_domain", **spec)
    assert applied["actions"][0] == "create volume %s.qcow2 in pool %s" % (guest, pool)
    assert applied["domain"]["disks"][0]["format"] == "qcow2"
    vol = virsh("vol-info", guest + ".qcow2", "--pool", pool, "--bytes").stdout
    assert re.search(r"Capacity:\s+67108864 bytes", vol), vol
    assert "sda" in virsh("domblklist", guest, "--inactive").stdout  # the empty CD-ROM drive
    # a size is a minimum: a larger one grows the volume in place (the guest is not redefined), a
    # smaller one changes nothing
    uuid = virsh("domuuid", guest).stdout.strip()
    resized = dict(spec, disks=[dict(spec["disks"][0], size="96MiB"), {"device": "cdrom"}])
    grown = idempotent("libvirt_domain", **resized)
    assert grown["actions"] == ["grow volume %s.qcow2 in pool %s from 64 MiB to 96 MiB" % (guest, pool)], grown["actions"]
    vol = virsh("vol-info", guest + ".qcow2", "--pool", pool, "--bytes").stdout
    assert re.search(r"Capacity:\s+100663296 bytes", vol), vol
    assert virsh("domuuid", guest).stdout.strip() == uuid
    assert run_module("libvirt_domain", **spec)["changed"] is False

    removed = run_module("libvirt_domain", name=guest, uri=URI, state="absent", remove_storage=True)
    assert removed["changed"] and any(a.startswith("delete storage disk vda") for a in removed["actions"])
    assert guest not in virsh("vol-list", pool).stdout
    assert virsh("dominfo", guest, check=False).returncode != 0


def test_linked_clone_sized_and_started_in_one_task_then_grown_live(guest, pool, workdir):
    """One task makes the guest's disk a linked clone of a template (constant time: the template's
    32 MiB of data are not copied), larger than the template, and starts the guest; a larger size
    later grows the disk under the running guest, which stays the same process."""
    template = os.path.join(workdir, "pool", "tmpl.qcow2")
    sh("qemu-img", "create", "-q", "-f", "qcow2", template, "64M")
    sh("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 32M", template)
    virsh("pool-refresh", pool)
    disks = [{"pool": pool, "volume": guest + "-root", "backing": "tmpl.qcow2", "size": "96MiB"},
             {"pool": pool, "volume": guest + "-copy", "clone_from": "tmpl.qcow2"}]
    spec = tiny(guest, workdir, disks=disks, state="running")
    applied = idempotent("libvirt_domain", **spec)
    assert applied["actions"][:2] == ["create volume %s-root in pool %s (linked clone of tmpl.qcow2)" % (guest, pool),
                                      "create volume %s-copy in pool %s (copy of tmpl.qcow2)" % (guest, pool)]
    root = os.path.join(workdir, "pool", guest + "-root")
    info = json.loads(sh("qemu-img", "info", "--output=json", "-U", root).stdout)
    assert info["backing-filename"] == template and info["virtual-size"] == 96 << 20, info
    assert info["actual-size"] < 4 << 20, info  # the template's data stay in the template
    copy = json.loads(sh("qemu-img", "info", "--output=json", "-U", os.path.join(workdir, "pool", guest + "-copy")).stdout)
    assert "backing-filename" not in copy and copy["actual-size"] >= 32 << 20, copy
    assert virsh("domstate", guest).stdout.strip() == "running"
    domid = virsh("domid", guest).stdout.strip()

    grown = idempotent("libvirt_domain", **dict(spec, disks=[dict(disks[0], size="160MiB"), disks[1]]))
    assert grown["actions"] == ["grow volume %s-root in pool %s from 96 MiB to 160 MiB (live, as disk vda)"
                                % (guest, pool)], grown["actions"]
    assert re.search(r"Capacity:\s+167772160", virsh("domblkinfo", guest, "vda").stdout)
    assert virsh("domid", guest).stdout.strip() == domid  # the same QEMU: grown under the running guest

    # a missing template is named, nothing is made
    bad = run_module("libvirt_domain", **tiny(guest + "b", workdir, disks=[
        {"pool": pool, "volume": guest + "-b", "backing": "nope.qcow2"}]))
    assert bad["failed"] and bad["msg"].startswith("disks[0].backing:") and "nope.qcow2" in bad["msg"], bad
    assert guest + "-b" not in virsh("vol-list", pool).stdout
    run_module("libvirt_domain", name=guest, uri=URI, state="absent", remove_storage=True)
    assert os.path.exists(template) and not os.path.exists(root)


def test_failed_define_removes_the_volume_it_created(guest, pool, workdir):
    # volume created, guest defined, then the start fails (no kernel there): both are undone
    spec = tiny(guest, workdir, disks=[{"pool": pool, "volume": guest + ".qcow2", "size": "8MiB"}],
                kernel=os.path.join(workdir, "missing-vmlinuz"), state="running")
    result = run_module("libvirt_domain", **spec)
    assert result.get("failed") and "rolled back: create volume" in result["msg"], result
    assert "define guest" in result["msg"].split("rolled back:")[1]
    assert guest not in virsh("vol-list", pool).stdout
    assert virsh("dominfo", guest, check=False).returncode != 0


@pytest.fixture
def ovs_bridge(ovs_daemon, unique):
    name = "vo" + unique[3:11]
    sh("ovs-vsctl", "add-br", name, "--", "set", "bridge", name, "datapath_type=netdev")
    yield name
    sh("ovs-vsctl", "--if-exists", "del-br", name, check=False)


def test_nic_on_open_vswitch_vlan(guest, ovs_bridge, workdir):
    spec = tiny(guest, workdir, nics=[{"ovs_bridge": ovs_bridge, "vlan": 20}], state="running")
    applied = idempotent("libvirt_domain", **spec)
    nic = applied["domain"]["nics"][0]
    assert nic["type"] == "ovs_bridge" and nic["vlan"] == 20 and nic["bridge"] == ovs_bridge
    port = [line.split()[0] for line in virsh("domiflist", guest).stdout.splitlines() if nic["mac"] in line][0]
    assert sh("ovs-vsctl", "get", "port", port, "tag").stdout.strip() == "20"
    assert port in sh("ovs-vsctl", "list-ports", ovs_bridge).stdout.split()
    virsh("destroy", guest)


def test_cdrom_medium_changes_live(guest, workdir):
    iso = os.path.join(workdir, "medium.iso")
    with open(iso, "wb") as handle:
        handle.write(b"\0" * 2048 * 16)
    spec = tiny(guest, workdir, disks=[{"device": "cdrom"}], state="running")
    run_module("libvirt_domain", **spec)
    inserted = idempotent("libvirt_domain", **{**spec, "disks": [{"device": "cdrom", "path": iso}]})
    assert inserted["actions"] == ["change medium of disk sda (%s) of running guest %s" % (iso, guest)]
    assert not inserted.get("restart_required"), inserted
    assert iso in virsh("domblklist", guest).stdout and iso in virsh("domblklist", guest, "--inactive").stdout
    virsh("destroy", guest)


def test_vcpus_hotplug_within_maximum(guest, workdir):
    spec = tiny(guest, workdir, vcpus=1, max_vcpus=2, state="running")
    run_module("libvirt_domain", **spec)
    wait_for(lambda: GUEST_MARKER in read(os.path.join(workdir, "console.log")), "the guest to boot")
    plugged = idempotent("libvirt_domain", **{**spec, "vcpus": 2})
    assert plugged["actions"] == ["set vCPUs of running guest %s to 2" % guest], plugged
    assert not plugged.get("restart_required")
    assert virsh("vcpucount", guest, "--live", "--active").stdout.strip() == "2"
    assert virsh("vcpucount", guest, "--config", "--active").stdout.strip() == "2"
    virsh("destroy", guest)


@pytest.fixture
def veth(unique):
    """A veth pair for macvtap (direct) NICs; only our own interfaces are touched."""
    name = "vm" + unique[3:11]
    sh("ip", "link", "add", name, "type", "veth", "peer", "name", name + "p")
    sh("ip", "link", "set", name, "up")
    yield name
    sh("ip", "link", "del", name, check=False)


def test_direct_macvtap_nic(guest, veth, workdir):
    spec = tiny(guest, workdir, nics=[{"direct": veth, "model": "e1000"}], state="running")
    applied = idempotent("libvirt_domain", **spec)
    nic = applied["domain"]["nics"][0]
    assert nic["type"] == "direct" and nic["source"] == veth and nic["model"] == "e1000"
    links = sh("ip", "-d", "-o", "link", "show").stdout
    assert re.search(r"macvtap\d+@%s:.*%s.*macvtap\s+mode bridge" % (veth, nic["mac"]), links), links
    virsh("destroy", guest)


def test_batch_masks_secrets(guests):
    items = [dict(name=guests[0], virt_type="qemu", memory=64, graphics={"type": "vnc", "password": "Zq9secre"})]
    result = run_module("libvirt_domains", uri=URI, domains=items, diff=True)
    assert result.get("changed") and "Zq9secre" not in repr(result), result
    assert "passwd='Zq9secre'" in virsh("dumpxml", "--security-info", guests[0]).stdout
