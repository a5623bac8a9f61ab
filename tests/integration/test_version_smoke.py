"""A short smoke of the modules against the real daemons, run by `make test` twice: in the suite on
the newest ansible-core, and again with the unit tests in the venv of the oldest ansible-core that
meta/runtime.yml's requires_ansible claims (`make test-oldest`, scripts/host.sh venv-oldest). It
goes through both paths a module takes: the module process on its own (AnsibleModule and the
module_utils of that ansible-core) and ansible-playbook (the routed action plugin, action groups
of meta/runtime.yml, module_defaults)."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest

from conftest import ROOT, converge, playbook, run_module, sh  # noqa: E402

OVF = os.path.join(ROOT, "tests", "data", "ovf-samples", "vmware-photon5.ovf")
NS = {"ovf": "http://schemas.dmtf.org/ovf/envelope/1",
      "rasd": "http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData"}


def test_ansible_core_under_test():
    """Says which ansible-core ran (pytest -rA shows it) and that the module sees the same one."""
    import ansible.release

    proc = sh("ansible", "--version")
    assert proc.stdout.split("\n")[0].endswith("[core %s]" % ansible.release.__version__), proc.stdout


def test_docker_info(docker_daemon):
    info = run_module("docker_info", images=False, containers=False, volumes=False)
    assert info.get("failed") is not True, info
    assert info["host"]["server_version"] == sh("docker", "version", "--format", "{{.Server.Version}}").stdout.strip()
    cli = {json.loads(line)["Name"] for line in sh("docker", "network", "ls", "--format", "{{json .}}").stdout.splitlines()}
    assert {n["name"] for n in info["networks"]} == cli


def test_libvirt_network_info(libvirt_daemon):
    info = run_module("libvirt_network_info")
    assert info.get("failed") is not True, info
    cli = set(sh("virsh", "-c", "qemu:///system", "net-list", "--all", "--name").stdout.split())
    assert {n["name"] for n in info["networks"]} == cli


def test_ovf_info():
    info = run_module("ovf_info", src=OVF)
    assert info.get("failed") is not True, info
    root = ET.parse(OVF).getroot()
    cpus = [item.find("rasd:VirtualQuantity", NS).text for item in root.iter("{%s}Item" % NS["ovf"])
            if item.find("rasd:ResourceType", NS).text == "3"]
    assert info["format"] == "ovf" and info["cpus"] == int(cpus[0])
    assert len(info["disks"]) == len(root.findall("ovf:DiskSection/ovf:Disk", NS))


@pytest.fixture
def volume(docker_daemon, unique):
    yield unique
    sh("docker", "volume", "rm", "-f", unique, check=False)


def test_docker_volume_create_rerun_remove(volume):
    converge("docker_volume", name=volume, labels={"app": "vct-smoke"})
    labels = json.loads(sh("docker", "volume", "inspect", volume, "--format", "{{json .Labels}}").stdout)
    assert labels["app"] == "vct-smoke"
    converge("docker_volume", name=volume, state="absent")
    assert sh("docker", "volume", "inspect", volume, check=False).returncode != 0


def test_playbook_with_action_group(volume, tmp_path):
    play = tmp_path / "smoke.yml"
    play.write_text("""
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/virtcloud.core.docker:
      docker_host: unix:///var/run/docker.sock
  tasks:
    - virtcloud.core.docker_volume: {name: %(v)s}
      register: made
    - virtcloud.core.docker_volume: {name: %(v)s}
      register: again
    - virtcloud.core.docker_volume: {name: %(v)s, state: absent}
      check_mode: true
      register: predicted
    - ansible.builtin.assert:
        that: [made is changed, again is not changed, predicted is changed]
    - virtcloud.core.docker_volume: {name: %(v)s, state: absent}
""" % {"v": volume})
    proc = playbook(str(play))
    assert "ok=5 " in proc.stdout and "changed=3 " in proc.stdout and "failed=0" in proc.stdout, proc.stdout[-2000:]
    assert sh("docker", "volume", "inspect", volume, check=False).returncode != 0
