"""The README's promise: the demo converges, a rerun changes nothing, the page says "It works!", and the
OVA built from the tiny test guest runs, imported onto the host-only network, its marker on the console."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import urllib.request

import yaml
from lxml import etree

from conftest import ROOT, playbook, sh  # noqa: E402
from lib.guest import GUEST_MARKER

DEMO = os.path.join(ROOT, "playbooks", "demo.yml")
DEMO_OVA_SCRIPT = os.path.join(ROOT, "scripts", "demo_ova.py")


def recap(proc):
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
    assert match, proc.stdout[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))


def ova_play_vars():
    plays = yaml.safe_load(open(DEMO))
    return next(p["vars"] for p in plays if "demo_ova" in p.get("vars", {}))


def virsh(*argv):
    return sh("virsh", "-c", "qemu:///system", *argv).stdout


def test_demo_converges_and_a_rerun_changes_nothing(docker_daemon, libvirt_daemon):
    playbook(DEMO)  # converge (make test already ran it once: then this is a rerun too)
    again = recap(playbook(DEMO))
    assert again["changed"] == 0 and again["failed"] == 0 and again["ok"] >= 14
    page = urllib.request.urlopen("http://127.0.0.1:8088/", timeout=10).read().decode()
    assert "It works!" in page

    demo = ova_play_vars()
    assert demo["demo_guest_marker"] == GUEST_MARKER
    guest = demo["demo_guest"]
    assert virsh("domstate", guest).strip() == "running"
    with open(demo["demo_console_log"], errors="replace") as handle:
        assert GUEST_MARKER in handle.read()
    root = etree.fromstring(virsh("dumpxml", guest).encode())
    assert root.get("type") in ("kvm", "qemu")
    assert [i.find("source").get("network") for i in root.findall("devices/interface")] == [demo["demo_network"]]
    assert root.find("devices/interface/model").get("type") == "vmxnet3"  # what the VMware OVF says
    assert [d.find("source").get("pool") for d in root.findall("devices/disk")] == [demo["demo_pool"]]
    assert root.find("metadata/{urn:virtcloud:core}ova") is not None  # the import's record
    pool = etree.fromstring(virsh("pool-dumpxml", demo["demo_pool"]).encode())
    assert pool.findtext("target/path") == demo["demo_pool_path"]
    assert "Autostart:      yes" in virsh("pool-info", demo["demo_pool"])
    volumes = virsh("vol-list", demo["demo_pool"]).split()
    assert guest + "-disk1.qcow2" in volumes


def test_demo_check_mode_predicts_no_change(docker_daemon, libvirt_daemon):
    playbook(DEMO)
    checked = recap(playbook(DEMO, extra_args=["--check", "--diff"]))
    assert checked["changed"] == 0 and checked["failed"] == 0


def demo_ova(dest):
    proc = subprocess.run([sys.executable, DEMO_OVA_SCRIPT, str(dest)], capture_output=True, text=True,
                          timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.split()[0]


def test_demo_ova_script_builds_once_and_replaces_a_broken_ova(tmp_path):
    dest = tmp_path / "sub" / "tiny.ova"
    assert demo_ova(dest) == "built"
    with tarfile.open(dest) as tar:
        names = tar.getnames()
        descriptor = tar.extractfile(names[0]).read().decode()
    assert names == ["tiny.ovf", "tiny.mf", "tiny-disk1.vmdk"]
    assert 'ovf:name="VM Network"' in descriptor and "VmxNet3" in descriptor
    stamp = os.stat(dest).st_ino, os.stat(dest).st_mtime_ns
    assert demo_ova(dest) == "unchanged"
    assert (os.stat(dest).st_ino, os.stat(dest).st_mtime_ns) == stamp
    # a bit flipped in the disk: the manifest no longer matches, so the OVA is written anew
    with tarfile.open(dest) as tar:
        member = tar.getmember("tiny-disk1.vmdk")
    with open(dest, "r+b") as handle:
        handle.seek(member.offset_data + member.size // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 1]))
    assert demo_ova(dest) == "built"
    assert demo_ova(dest) == "unchanged"
    assert sorted(os.listdir(dest.parent)) == ["tiny.ova"]  # no temporary file left beside it
