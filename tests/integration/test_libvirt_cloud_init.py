"""libvirt_domain's cloud_init (a NoCloud seed ISO in a pool) and wait_for (ip, marker, agent) against
the real qemu:///system, with the tiny test guest (tests/lib/guest.py), which reads the seed and prints
what it applied on its serial console. One guest boot for the whole file."""

from __future__ import annotations

import json
import os
import re

import pycdlib

from conftest import run_module, sh  # noqa: E402
from test_libvirt_domain import guest, idempotent, network, pool, read, tiny, virsh, wait_for, workdir  # noqa: F401 pylint: disable=unused-import

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGr4Yw2ZkWcq1qvD0dYqK6yW2m4lq9pX0rj8l6j5oQ1a vct@seed-test"


def seed_files(pool, volume, workdir):
    """The seed's files, read back through virsh vol-download and pycdlib (not the module's reader)."""
    path = os.path.join(workdir, "seed-readback.iso")
    virsh("vol-download", "--pool", pool, volume, path)
    iso = pycdlib.PyCdlib()
    iso.open(path)
    out = {}
    for name in ("user-data", "meta-data"):
        with open(os.path.join(workdir, name), "wb") as handle:
            iso.get_file_from_iso_fp(handle, joliet_path="/" + name)
        out[name] = read(os.path.join(workdir, name))
    iso.close()
    assert 'LABEL="cidata"' in sh("blkid", path).stdout
    return out


def test_cloud_init_seed_and_wait_for(guest, pool, network, workdir):
    log = os.path.join(workdir, "console.log")
    seed = guest + "-cidata.iso"
    cloud_init = {"pool": pool, "device": "disk", "user_data": {"vct_marker": "seeded-" + guest},
                  "meta_data": {"hostname": "vc-" + guest}, "ssh_keys": [KEY]}
    spec = tiny(guest, workdir, state="running", disks=[], nics=[{"network": network}], cloud_init=cloud_init)

    # check mode writes nothing; the run writes the seed, attaches it read-only, starts the guest
    # and waits for its DHCP lease; the rerun and the check-mode rerun change nothing
    applied = idempotent("libvirt_domain", **spec, wait_for="ip", wait_timeout=60)
    assert applied["actions"][0] == "write cloud-init seed %s/%s of guest %s" % (pool, seed, guest), applied
    facts = applied["domain"]["cloud_init"]
    assert facts["seed"] == "%s/%s" % (pool, seed) and facts["pending"] is False
    assert facts["instance_id"].startswith(guest + "-")
    assert seed in virsh("domblklist", guest).stdout
    disk = [d for d in applied["domain"]["disks"] if d.get("volume") == seed]
    assert disk and disk[0]["readonly"] is True, applied["domain"]["disks"]
    assert re.search(r"<source pool='%s' volume='%s'/>\s*<target dev='vda' bus='virtio'/>\s*<readonly/>"
                     % (pool, re.escape(seed)), virsh("dumpxml", "--inactive", guest).stdout)

    # the seed read back: the files the module wrote, label cidata
    files = seed_files(pool, seed, workdir)
    assert json.loads(files["meta-data"]) == {"instance-id": facts["instance_id"], "local-hostname": "vc-" + guest}
    assert files["user-data"].startswith("#cloud-config\n")
    assert json.loads(files["user-data"].split("\n", 1)[1]) == {"vct_marker": "seeded-" + guest,
                                                                "ssh_authorized_keys": [KEY]}

    # the guest applied it (its serial log), and wait_for marker finds it; wait_for ip found the lease
    waited = run_module("libvirt_domain", **spec, wait_for="marker", wait_marker="VCT-MARKER seeded-" + guest,
                        wait_timeout=60)
    assert waited["changed"] is False and waited.get("marker_line") == "VCT-MARKER seeded-" + guest, read(log)[-1500:]
    console = read(log)
    assert "VCT-HOSTNAME vc-%s" % guest in console and "VCT-SSHKEY vct@seed-test" in console, console[-2000:]
    wait_for(lambda: "VCT-LEASE eth0" in read(log), "the guest's lease line")
    leased = re.search(r"VCT-LEASE eth0 (\S+)", read(log)).group(1)
    addresses = run_module("libvirt_domain", **spec, wait_for="ip", wait_timeout=30)
    assert addresses["address_source"] == "lease" and addresses["changed"] is False, addresses
    assert [a["address"] for a in addresses["addresses"]] == [leased] and leased.startswith("198.18.")

    # no agent in the tiny guest: the timeout says what was tried
    agent = run_module("libvirt_domain", **spec, wait_for="agent", wait_timeout=3)
    assert agent.get("failed") and "wait_for agent" in agent["msg"] and "agent: " in agent["msg"], agent

    # a changed cloud_init on the existing guest is reported, not applied ...
    changed_ci = dict(cloud_init, user_data={"vct_marker": "second"})
    reported = run_module("libvirt_domain", **{**spec, "cloud_init": changed_ci})
    assert reported["changed"] is False and reported["domain"]["cloud_init"]["pending"] is True, reported
    assert "cloud_init_apply=true" in json.dumps(reported.get("warnings")), reported
    assert json.loads(seed_files(pool, seed, workdir)["meta-data"])["instance-id"] == facts["instance_id"]
    # ... and applied on request: a new instance-id, so cloud-init runs again on the next boot
    rebuilt = idempotent("libvirt_domain", **{**spec, "cloud_init": changed_ci, "cloud_init_apply": True})
    new_id = rebuilt["domain"]["cloud_init"]["instance_id"]
    assert new_id != facts["instance_id"] and rebuilt["domain"]["cloud_init"]["pending"] is False
    assert json.loads(seed_files(pool, seed, workdir)["meta-data"])["instance-id"] == new_id
    assert '"second"' in seed_files(pool, seed, workdir)["user-data"]

    # removed with its storage, the seed goes too
    gone = run_module("libvirt_domain", name=guest, uri=spec["uri"], state="absent", remove_storage=True)
    assert gone["changed"] and any(seed in a for a in gone["actions"]), gone
    assert seed not in virsh("vol-list", pool).stdout


def test_cloud_init_bad_input_touches_nothing(guest, pool, workdir):
    spec = tiny(guest, workdir, disks=[])
    for cloud_init, option in (({"pool": pool, "user_data": "#!/bin/sh\n", "ssh_keys": [KEY]}, "cloud_init.ssh_keys"),
                               ({"pool": pool, "network_config": {"ethernets": {}}}, "cloud_init.network_config"),
                               ({"pool": pool + "x"}, "cloud_init.pool"),
                               ({"pool": pool, "meta_data": {"hostname": "no spaces"}}, "cloud_init.meta_data.hostname")):
        failed = run_module("libvirt_domain", **spec, cloud_init=cloud_init)
        assert failed.get("failed") and option in failed["msg"], failed
    no_disks = run_module("libvirt_domain", **{**spec, "disks": None}, cloud_init={"pool": pool})
    assert no_disks.get("failed") and "cloud_init" in no_disks["msg"], no_disks
    marker = run_module("libvirt_domain", **spec, wait_for="marker")
    assert marker.get("failed") and "wait_marker" in marker["msg"], marker
    assert virsh("dominfo", guest, check=False).returncode != 0
    assert virsh("vol-list", pool).stdout.count(".iso") == 0
