"""The vm_deploy role's scenario (extensions/molecule/vm_deploy, run here without molecule, in the order
its molecule.yml gives): prepare -> converge -> idempotence (a rerun reports changed=0) -> verify (its own
verify.yml), then independent checks through virsh - the guest runs (domstate), from a linked clone of the
template volume, grown to the asked size; the address the role registered and gave the added host is the
guest's DHCP lease (net-dhcp-leases) and what domifaddr reports; the guest read its cloud-init seed (its
serial log). The second play of converge.yml targets the added host's group, so the host was in the play's
inventory. Cleanup (the scenario's cleanup.yml, then virsh for anything left) also on failure.

One TCG boot of the tiny test guest (tests/lib/guest.py, as the BIOS-bootable disk of tests/lib/ova.py); a
second one from an OVA of it, through playbooks/deploy_vm.yml."""

from __future__ import annotations

import os
import re

import pytest

from conftest import ROOT, playbook, run_module, sh  # noqa: E402
from lib.appdeploy import recap
from lib.ova import build_ova

SCENARIO = os.path.join(ROOT, "extensions", "molecule", "vm_deploy")
URI = "qemu:///system"


def virsh(*argv, check=True):
    return sh("virsh", "-c", URI, *argv, check=check)


def remove_leftovers(name, pool, net, volumes=()):
    """What a test's own cleanup did not remove (it failed before), through virsh: the guest with its disks,
    other volumes of the pool, the pool and the network."""
    virsh("destroy", name, check=False)
    virsh("undefine", name, "--remove-all-storage", check=False)
    for volume in volumes:
        virsh("vol-delete", "--pool", pool, volume, check=False)
    virsh("pool-destroy", pool, check=False)
    virsh("pool-undefine", pool, check=False)
    virsh("net-destroy", net, check=False)
    virsh("net-undefine", net, check=False)


@pytest.fixture
def vm(libvirt_daemon, unique, tmp_path):
    os.chmod(tmp_path, 0o755)
    names = {"vm_deploy_name": unique + "-vm", "vm_deploy_pool": unique + "-vmpool",
             "vm_deploy_pool_path": str(tmp_path / "pool"), "scenario_network": unique + "-vmnet",
             "vm_deploy_networks": [unique + "-vmnet"], "vm_deploy_image": str(tmp_path / "base.img"),
             "vm_deploy_image_volume": unique + "-base.img", "vm_deploy_console_log": str(tmp_path / "console.log"),
             "vm_deploy_cloud_init": {"meta_data": {"hostname": unique}, "user_data": {"vct_marker": "seeded-" + unique}}}
    yield names
    name, pool, net = names["vm_deploy_name"], names["vm_deploy_pool"], names["scenario_network"]
    remove_leftovers(name, pool, net, volumes=[name + ".qcow2", name + "-cidata.iso", names["vm_deploy_image_volume"]])
    assert virsh("dominfo", names["vm_deploy_name"], check=False).returncode != 0
    assert virsh("net-info", names["scenario_network"], check=False).returncode != 0


def scenario(step, names):
    return playbook(os.path.join(SCENARIO, step + ".yml"), **names)


def test_vm_deploy_scenario(vm):
    name, pool, net = vm["vm_deploy_name"], vm["vm_deploy_pool"], vm["scenario_network"]
    scenario("prepare", vm)

    # converge: the second play targets the added host's group and checks its address
    first = scenario("converge", vm)
    assert recap(first.stdout)["changed"] > 0
    address = re.search(r"VM_DEPLOY_ADDRESS=(\S+?)\"", first.stdout).group(1)
    assert re.search(r'"VM_DEPLOY_HOST=%s %s"' % (re.escape(name), re.escape(address)), first.stdout), first.stdout[-3000:]
    assert re.search(r"\n%s\s*: ok=2 " % re.escape(name), first.stdout), first.stdout[-1500:]

    # idempotence: nothing changes, the same address is registered again
    again = scenario("converge", vm)
    assert recap(again.stdout)["changed"] == 0, again.stdout[-3000:]
    assert "VM_DEPLOY_ADDRESS=%s\"" % address in again.stdout

    # verify: the scenario's own checks, then virsh
    scenario("verify", vm)
    assert virsh("domstate", name).stdout.strip() == "running"

    lease_lines = [line.split() for line in virsh("net-dhcp-leases", net).stdout.splitlines() if "ipv4" in line]
    mac = re.search(r"<mac address='([0-9a-f:]+)'/>", virsh("dumpxml", name).stdout).group(1)
    assert [parts[4].split("/")[0] for parts in lease_lines if parts[2] == mac] == [address], lease_lines
    domifaddr = virsh("domifaddr", name, "--source", "lease").stdout
    assert re.search(r"%s\s+ipv4\s+%s/24" % (re.escape(mac), re.escape(address)), domifaddr), domifaddr
    blklist = virsh("domblklist", name, "--details").stdout
    assert re.search(r"volume\s+disk\s+vda\s+%s\.qcow2\n" % re.escape(name), blklist), blklist
    volume = virsh("vol-dumpxml", "--pool", pool, name + ".qcow2").stdout
    assert "<backingStore>" in volume and vm["vm_deploy_image_volume"] in volume, volume
    assert re.search(r"<capacity unit='bytes'>%d</capacity>" % (64 << 20), volume), volume
    with open(vm["vm_deploy_console_log"], errors="replace") as handle:
        console = handle.read()
    assert "VCT-MARKER %s" % vm["vm_deploy_cloud_init"]["user_data"]["vct_marker"] in console, console[-1500:]
    assert "VCT-HOSTNAME %s" % vm["vm_deploy_cloud_init"]["meta_data"]["hostname"] in console, console[-1500:]
    assert "VCT-LEASE eth0 %s" % address in console, console[-1500:]

    # cleanup: the scenario's own step leaves neither guest nor disks nor network
    scenario("cleanup", vm)
    assert virsh("dominfo", name, check=False).returncode != 0
    assert virsh("pool-info", pool, check=False).returncode != 0
    assert virsh("net-info", net, check=False).returncode != 0


@pytest.fixture
def ova_guest(libvirt_daemon, unique, tmp_path):
    """A generic OVA of the tiny guest (NIC on OVF network "LAN") and an isolated network with DHCP for it."""
    os.chmod(tmp_path, 0o755)
    net = unique + "-ovanet"
    run_module("libvirt_network", uri=URI, name=net, forward="isolated", address="198.18.149.1/24",
               dhcp_ranges=[{"start": "198.18.149.100", "end": "198.18.149.199"}])
    names = {"vm_name": unique + "-ova", "vm_pool": unique + "-ovapool", "vm_pool_path": str(tmp_path / "pool"),
             "vm_ova": build_ova(str(tmp_path / "tiny.ova"), nics=["LAN"])["path"],
             "vm_ova_network_map": {"LAN": net}, "vm_networks": [net], "vm_virt_type": "qemu",
             "vm_memory": "192MiB", "vm_disk_size": "48MiB", "vm_console_log": str(tmp_path / "console.log"),
             "vm_wait_timeout": 90}
    yield names, net
    name, pool = names["vm_name"], names["vm_pool"]
    remove_leftovers(name, pool, net)


def test_deploy_vm_playbook_from_an_ova(ova_guest):
    """playbooks/deploy_vm.yml as its header shows it: an OVA imported into the pool, its NIC mapped, the disk
    grown, the guest started and waited for; its second play runs on the added host; a rerun changes nothing;
    vm_state=absent removes the guest and its disks (the pool stays)."""
    names, net = ova_guest
    name, pool = names["vm_name"], names["vm_pool"]
    first = playbook(os.path.join(ROOT, "playbooks", "deploy_vm.yml"), **names)
    assert recap(first.stdout)["changed"] > 0
    address = re.search(r"%s is at (198\.18\.149\.\d+)" % re.escape(name), first.stdout).group(1)

    assert virsh("domstate", name).stdout.strip() == "running"
    mac = re.search(r"<mac address='([0-9a-f:]+)'/>", virsh("dumpxml", name).stdout).group(1)
    domifaddr = virsh("domifaddr", name, "--source", "lease").stdout
    assert re.search(r"%s\s+ipv4\s+%s/24" % (re.escape(mac), re.escape(address)), domifaddr), domifaddr
    assert "<source network='%s'" % net in virsh("dumpxml", name).stdout
    volumes = virsh("vol-list", pool).stdout
    disk = [line.split()[0] for line in volumes.splitlines()[2:] if line.strip()]
    assert len(disk) == 1, volumes
    assert re.search(r"<capacity unit='bytes'>%d</capacity>" % (48 << 20), virsh("vol-dumpxml", "--pool", pool, disk[0]).stdout)

    again = playbook(os.path.join(ROOT, "playbooks", "deploy_vm.yml"), **names)
    assert recap(again.stdout)["changed"] == 0, again.stdout[-3000:]
    assert "%s is at %s" % (name, address) in again.stdout

    playbook(os.path.join(ROOT, "playbooks", "deploy_vm.yml"), **dict(names, vm_state="absent"))
    assert virsh("dominfo", name, check=False).returncode != 0
    assert not [line for line in virsh("vol-list", pool).stdout.splitlines()[2:] if line.strip()]
