"""DomainService / DomainInfoService planning on libvirt's in-process test driver (test:///default)."""

from __future__ import annotations

import uuid

import libvirt
from lxml import etree
import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import Batch, execute_many, validate_items
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import execute
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import DomainService
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain_info import DomainInfoService

URI = "test:///default"
BATCH = Batch(DomainService, "domains")


def params(**kw):
    return dict(validate_items(DomainService, [kw], "spec")[0], uri=URI)


def domain(**kw):
    return DomainService(params(**kw))


@pytest.fixture(autouse=True, scope="module")
def held_test_driver(test_driver):  # every test of this file plans against test:///default
    return test_driver


@pytest.fixture
def name():
    name = "vct" + uuid.uuid4().hex[:8]
    yield name
    conn = libvirt.open(URI)
    try:
        dom = conn.lookupByName(name)
    except libvirt.libvirtError:
        return
    if dom.isActive():
        dom.destroy()
    dom.undefine()


def test_define_is_idempotent_and_check_mode_predicts(name):
    spec = dict(name=name, memory="128MiB", vcpus=2, title="t")
    predicted = execute(domain(**spec), check_mode=True, diff=True)
    assert predicted["changed"] and predicted["actions"] == ["define guest %s" % name]
    assert predicted["domain"]["memory"] == "128 MiB" and predicted["diff"]["before"] == {}
    applied = execute(domain(**spec))
    assert applied["actions"] == predicted["actions"] and applied["domain"]["uuid"]
    assert execute(domain(**spec)) == dict(applied, changed=False, actions=[])
    assert execute(domain(**spec), check_mode=True)["changed"] is False


def test_state_transitions(name):
    execute(domain(name=name, memory=128))
    assert execute(domain(name=name, state="running"))["actions"] == ["start guest %s" % name]
    assert execute(domain(name=name, state="paused"))["domain"]["state"] == "paused"
    assert execute(domain(name=name, state="running"))["actions"] == ["resume guest %s" % name]
    off = execute(domain(name=name, state="shutdown", shutdown_timeout=5, force=True))
    assert off["domain"]["state"] == "shutdown"
    assert execute(domain(name=name, state="shutdown"))["changed"] is False
    gone = execute(domain(name=name, state="absent"))
    assert gone["changed"] and gone["domain"] == {}
    assert execute(domain(name=name, state="absent"))["changed"] is False


def test_running_guest_config_change_needs_restart(name):
    execute(domain(name=name, memory=128, state="running"))
    result = execute(domain(name=name, memory=128, vcpus=2, state="running"))
    assert result["changed"] and result["restart_required"] is True and result["warnings"]
    assert execute(domain(name=name, memory=128, vcpus=2, state="running"))["changed"] is False


def test_autostart_is_a_live_setting(name):
    execute(domain(name=name, memory=128))
    result = execute(domain(name=name, autostart=True))
    assert result["actions"] == ["enable autostart of %s" % name] and result["domain"]["autostart"] is True
    assert "restart_required" not in result


def test_uuid_is_kept_and_cannot_change(name):
    fixed = str(uuid.uuid4())
    assert execute(domain(name=name, memory=128, uuid=fixed))["domain"]["uuid"] == fixed
    with pytest.raises(InputError) as info:
        execute(domain(name=name, uuid=str(uuid.uuid4())))
    assert info.value.option == "uuid"


@pytest.mark.parametrize("kw, option", [
    (dict(memory="1 potato"), "memory"),
    (dict(vcpus=1), "memory"),
    (dict(memory="128MiB", current_memory="1GiB"), "current_memory"),
    (dict(current_memory="1GiB"), "current_memory"),
    (dict(vcpus=0), "vcpus"),
    (dict(boot=["floppy"]), "boot"),
    (dict(disks=[{"volume": "v"}]), "disks[0]"),
    (dict(disks=[{"path": "/a", "size": "1G"}]), "disks[0].size"),
    (dict(nics=[{"network": "a", "bridge": "b"}]), "nics[0]"),
    (dict(nics=[{"bridge": "b", "vlan": 3}]), "nics[0].vlan"),
    (dict(nics=[{"bridge": "b", "mac": "nope"}]), "nics[0].mac"),
    (dict(xml="<domain>"), "xml"),
    (dict(xml="<network/>"), "xml"),
    (dict(serial={"type": "file"}), "serial.path"),
    (dict(graphics={"password": "123456789"}), "graphics.password"),
    (dict(nics=[{"network": "vct-missing"}]), "nics[0].network"),
    (dict(disks=[{"pool": "vct-missing", "volume": "v"}]), "disks[0].pool"),
    (dict(memory=64, os_type="xen"), "kernel"),
    (dict(memory=64, disks=[{"pool": "default", "volume": "sub/x.qcow2", "size": "1G"}]), "disks[0].volume"),
])
def test_bad_input_names_the_option_and_defines_nothing(name, kw, option):
    with pytest.raises(InputError) as info:
        execute(domain(name=name, **kw))
    assert info.value.option == option, info.value.msg
    conn = libvirt.open(URI)
    assert name not in [d.name() for d in conn.listAllDomains(0)]


def test_batch_uses_the_same_service(name):
    specs = [params(name="%s-%d" % (name, i), memory=64) for i in range(3)]
    try:
        first = execute_many(BATCH, specs)
        assert first["changed"] and len(first["actions"]) == 3
        again = execute_many(BATCH, specs)
        assert again["changed"] is False and [r["changed"] for r in again["results"]] == [False] * 3
        info = execute(DomainInfoService({"uri": URI, "name": [s["name"] for s in specs], "state": None}))
        assert [d["name"] for d in info["domains"]] == [s["name"] for s in specs]
        assert info["domains"][0]["memory"] == "64 MiB" and info["changed"] is False
    finally:
        execute_many(BATCH, [params(name=s["name"], state="absent") for s in specs])


def test_batch_validates_every_item_first(name):
    specs = [params(name=name, memory=64), params(name=name + "b", memory="much")]
    with pytest.raises(InputError) as info:
        execute_many(BATCH, specs)
    assert info.value.msg.startswith("domains[1].memory:")
    assert name not in [d.name() for d in libvirt.open(URI).listAllDomains(0)]
    with pytest.raises(InputError) as info:
        validate_items(DomainService, [{"name": "a", "state": "gone"}], "domains")
    assert info.value.option == "domains[0]"


def test_firmware_bios_removes_uefi(name):
    xml = "<domain><os><type>hvm</type><loader readonly='yes' type='pflash'>/x/OVMF_CODE.fd</loader></os></domain>"
    execute(domain(name=name, memory=64, xml=xml))
    result = execute(domain(name=name, firmware="bios"))
    assert result["changed"] and result["domain"]["firmware"] == "bios"
    assert execute(domain(name=name, firmware="bios"))["changed"] is False


class FakeConn:
    def __init__(self, kvm):
        self.kvm = kvm

    def getDomainCapabilities(self, emulator, arch, machine, virttype):
        if virttype == "kvm" and not self.kvm:
            raise libvirt.libvirtError("KVM is not supported by '/usr/bin/qemu-system-x86_64' on this host")
        return "<domainCapabilities/>"


@pytest.mark.parametrize("caps, cpu_has_vt, uri, expected", [
    (True, True, "qemu:///system", "kvm"),
    (True, False, "qemu:///system", "qemu"),      # /dev/kvm inside a VM without nested virtualisation
    (False, True, "qemu:///system", "qemu"),
    (True, False, "qemu+ssh://root@far/system", "kvm"),  # our CPU says nothing about a remote host
    (True, True, "xen:///system", "xen"),
])
def test_virt_type_auto(monkeypatch, caps, cpu_has_vt, uri, expected):
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain as module

    monkeypatch.setattr(module, "kvm_usable_here", lambda: cpu_has_vt)
    service = DomainService(dict(params(name="x", memory=64), uri=uri))
    service.conn = FakeConn(caps)
    resolved = service.resolve(service.desired(), None)
    assert resolved["guest_type"] == expected
    assert resolved["tcg_fallback"] == (expected == "qemu")
    assert bool(service.plan(resolved, None).warnings) == (expected == "qemu")


def test_kvm_detection_reads_cpu_flags(monkeypatch, tmp_path):
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain as module

    for flags, usable in (("fpu vmx sse", True), ("fpu hypervisor sse", False), ("fpu svm hypervisor", True)):
        cpuinfo = tmp_path / "cpuinfo"
        cpuinfo.write_text("processor : 0\nflags\t\t: %s\n" % flags)
        real_open = open
        monkeypatch.setattr("builtins.open", lambda path, *a, **k: real_open(
            cpuinfo if path == "/proc/cpuinfo" else path, *a, **k))
        assert module.kvm_usable_here() is usable
        monkeypatch.undo()


def test_vcpus_within_the_maximum_change_live(name):
    execute(domain(name=name, memory=64, vcpus=1, max_vcpus=4, state="running"))
    result = execute(domain(name=name, vcpus=3, state="running"))
    assert result["actions"] == ["set vCPUs of running guest %s to 3" % name], result
    assert "restart_required" not in result and result["domain"]["vcpus"] == 3
    assert result["domain"]["max_vcpus"] == 4
    assert execute(domain(name=name, vcpus=3, state="running"))["changed"] is False
    assert execute(domain(name=name, vcpus=4, max_vcpus=4))["domain"]["vcpus"] == 4
    assert execute(domain(name=name, vcpus=4, max_vcpus=4))["changed"] is False
    grown = execute(domain(name=name, vcpus=4, max_vcpus=8))
    assert grown["restart_required"] is True and grown["domain"]["max_vcpus"] == 8
    with pytest.raises(InputError):
        execute(domain(name=name, vcpus=4, max_vcpus=2))


def test_batch_refuses_one_guest_twice(name):
    with pytest.raises(InputError) as info:
        execute_many(BATCH, [params(name=name, memory=64), params(name=name, memory=128)])
    assert info.value.option == "domains[1].name"
    assert name not in [d.name() for d in libvirt.open(URI).listAllDomains(0)]


def test_batch_reference_errors_name_the_item(name):
    specs = [params(name=name, memory=64), params(name=name + "b", memory=64, nics=[{"network": "vct-none"}])]
    with pytest.raises(InputError) as info:
        execute_many(BATCH, specs)
    assert info.value.msg.startswith("domains[1].nics[0].network:")
    assert name not in [d.name() for d in libvirt.open(URI).listAllDomains(0)]


def test_title_of_a_running_guest_changes_live_without_restart(name):
    execute(domain(name=name, memory=64, state="running"))
    result = execute(domain(name=name, title="web", state="running"))
    assert result["actions"] == ["set title of running guest %s" % name, "redefine guest %s" % name]
    assert "restart_required" not in result and result["domain"]["title"] == "web"
    dom = libvirt.open(URI).lookupByName(name)
    assert dom.metadata(libvirt.VIR_DOMAIN_METADATA_TITLE, None, libvirt.VIR_DOMAIN_AFFECT_LIVE) == "web"
    assert execute(domain(name=name, title="web", state="running"))["changed"] is False


class Unsupported(libvirt.libvirtError):
    def get_error_code(self):
        return libvirt.VIR_ERR_NO_SUPPORT


class OldDriverConn:
    """A driver without getAllDomainStats (e.g. an old Xen or ESX one): per-guest state calls."""

    class Dom:
        def __init__(self, name, code):
            self._name, self.code = name, code

        def name(self):
            return self._name

        def state(self):
            return [self.code, 0]

    def __init__(self):
        self.doms = [self.Dom("a", libvirt.VIR_DOMAIN_RUNNING), self.Dom("b", libvirt.VIR_DOMAIN_SHUTOFF)]

    def listAllDomains(self, flags):
        return self.doms[:1] if flags == libvirt.VIR_CONNECT_LIST_DOMAINS_AUTOSTART else self.doms

    def getAllDomainStats(self, stats, flags):
        raise Unsupported("this function is not supported by the connection driver")


def test_guests_without_bulk_stats_fall_back_to_per_guest_state():
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.domain import guests, run_state

    found = {name: (state, autostart) for name, (_dom, state, autostart) in guests(OldDriverConn()).items()}
    assert found == {"a": ("running", True), "b": ("shutdown", False)}
    conn = libvirt.open(URI)  # the test driver has the bulk calls: they agree with the per-guest ones
    real = guests(conn)
    assert real and sorted(real) == sorted(dom.name() for dom in conn.listAllDomains(0))
    for name, (dom, state, autostart) in real.items():
        assert (state, autostart) == (run_state(dom.state()[0]), bool(dom.autostart())), name


def test_a_guest_defined_elsewhere_keeps_what_no_option_sets(name):
    """Only new guests get ACPI by default: a guest defined by another tool, without it, is not
    redefined when a task only asks for a state (it used to gain <features><acpi/><apic/>)."""
    conn = libvirt.open(URI)
    conn.defineXML("<domain type='test'><name>%s</name><memory>131072</memory>"
                   "<os><type>hvm</type></os></domain>" % name)
    started = execute(domain(name=name, state="running"))
    assert started["actions"] == ["start guest %s" % name]
    assert "<features>" not in conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert execute(domain(name=name, state="running"))["changed"] is False
    fresh = execute(domain(name=name + "b", memory=128))
    try:
        assert "<acpi/>" in conn.lookupByName(name + "b").XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE), fresh
    finally:
        conn.lookupByName(name + "b").undefine()


def test_a_defined_xen_pv_guest_stays_pv(name):
    """A task that changes memory without restating os_type used to turn a Xen PV guest into HVM."""
    conn = libvirt.open(URI)
    conn.defineXML("<domain type='test'><name>%s</name><memory>131072</memory>"
                   "<os><type>xen</type><kernel>/boot/vmlinuz-xen</kernel></os></domain>" % name)
    grown = execute(domain(name=name, memory="256MiB"))
    assert grown["actions"] == ["redefine guest %s" % name] and grown["domain"]["os_type"] == "xen"
    assert "<type arch='i686'>xen</type>" in conn.lookupByName(name).XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    assert execute(domain(name=name, memory="256MiB", os_type="xen"))["changed"] is False


def test_a_new_xen_pv_guest_boots_a_kernel_or_a_bootloader(name):
    with pytest.raises(InputError) as info:
        execute(domain(name=name, memory=64, os_type="xen"), check_mode=True)
    assert info.value.option == "kernel"
    pygrub = execute(domain(name=name, memory=64, os_type="xen", xml="<domain><bootloader>/usr/bin/pygrub"
                                                                     "</bootloader></domain>"), check_mode=True)
    assert pygrub["changed"] and pygrub["domain"]["os_type"] == "xen"


@pytest.mark.parametrize("batched", [False, True])
def test_observe_and_resolve_change_neither_the_desired_state_nor_the_service(name, batched):
    """Data flows one way: observe only reads, and what planning looks up (disk formats, the
    volumes to create, the hypervisor type) comes back from resolve as a new dict."""
    import copy

    execute(domain(name=name, memory=64))
    service = domain(name=name, memory=64, xml="<domain><os><type machine='pc'>hvm</type></os></domain>",
                     nics=[{"network": "default"}],
                     disks=[{"pool": "default-pool", "volume": name + ".img", "size": "1M"}])
    desired = service.desired()
    service.connect()
    before, attributes = copy.deepcopy(desired), set(vars(service))
    batch = DomainService.read_batch(service, [desired]) if batched else None
    observed = service.observe(desired, batch)
    resolved = service.resolve(desired, observed, batch)
    assert set(vars(service)) == attributes
    assert dx_canon(desired) == dx_canon(before)
    assert resolved is not desired and resolved["new_volumes"][0]["format"] == "qcow2"
    assert desired["disks"][0].get("format") is None


def dx_canon(desired):
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_xml as dx

    return {k: dx.canonical(v) if hasattr(v, "tag") else v for k, v in desired.items()}


def test_domain_info_skips_a_guest_undefined_between_listing_and_read(name, monkeypatch):
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain_info

    execute(domain(name=name, memory=64))
    service = DomainInfoService({"uri": URI, "name": [name], "state": None})
    service.connect()
    listing = domain_info.guests(service.conn)
    service.conn.lookupByName(name).undefine()  # gone after the listing call
    monkeypatch.setattr(domain_info, "guests", lambda conn: listing)
    assert service.observe(service.desired()) == []


@pytest.mark.parametrize("host_runs_kvm", [True, False])
def test_type_in_the_xml_decides_at_creation_and_on_reruns(monkeypatch, host_runs_kvm):
    """<domain type='qemu'> on a host with KVM used to be defined as kvm (auto), then moved to TCG by
    run 2; type='kvm' on a host without usable KVM the reverse. The XML's type is the type, every run."""
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import domain as module

    monkeypatch.setattr(module, "kvm_usable_here", lambda: host_runs_kvm)
    for kind in ("qemu", "kvm"):
        service = DomainService(dict(params(name="x", memory=64), uri="qemu:///system",
                                     xml="<domain type='%s'/>" % kind))
        service.conn = FakeConn(host_runs_kvm)
        if kind == "kvm" and not host_runs_kvm:
            with pytest.raises(InputError) as info:
                service.resolve(service.desired(), None)
            assert info.value.option == "xml" and "cannot run kvm" in info.value.msg
            continue
        new = service.resolve(service.desired(), None)
        defined = {"xml": etree.fromstring("<domain type='%s'/>" % kind)}
        again = service.resolve(service.desired(), defined)
        assert new["guest_type"] == again["guest_type"] == kind
        assert not new["tcg_fallback"]


def test_virt_type_option_wins_over_the_xml_and_is_checked():
    service = DomainService(dict(params(name="x", memory=64), uri="qemu:///system", xml="<domain type='kvm'/>",
                                 virt_type="qemu"))
    service.conn = FakeConn(False)
    assert service.resolve(service.desired(), None)["guest_type"] == "qemu"
    service = DomainService(dict(params(name="x", memory=64), uri="qemu:///system", virt_type="kvm"))
    service.conn = FakeConn(False)
    with pytest.raises(InputError) as info:
        service.resolve(service.desired(), None)
    assert info.value.option == "virt_type"
