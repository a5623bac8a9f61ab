"""Runs killed for real (SIGKILL, by pid) in the middle of their longest step (issue 21): a volume
upload and an OVA import. What the killed run left is found by the rerun, made again, and the
rerun ends with exactly what was asked; nothing else is left in the pool."""

from __future__ import annotations

import filecmp
import os

import pytest

from conftest import proves, run_module, sh, start_module
from test_batch_reliability import kill_when
from test_ova_import import build, place, spec, volumes  # noqa: F401 pylint: disable=unused-import

pytestmark = pytest.mark.usefixtures("libvirt_daemon")
MIB = 1 << 20
MARK = ".virtcloud-partial"


def started(directory, name):
    """The run has created the volume and the marker saying it is not complete yet."""
    return os.path.exists(os.path.join(directory, name)) and os.path.exists(os.path.join(directory, name + MARK))


@proves("killed midway", "libvirt_volume: upload killed by SIGKILL, the rerun uploads again")
def test_upload_killed_midway_is_made_again_by_the_rerun(place, tmp_path):  # noqa: F811 pylint: disable=redefined-outer-name
    source = tmp_path / "src.raw"
    with open(source, "wb") as out:
        while out.tell() < 256 * MIB:
            out.write(os.urandom(MIB))
    args = {"pool": place["pool"], "name": "disk.raw", "upload": str(source), "format": "raw"}
    kill_when(start_module("libvirt_volume", **args), lambda: started(place["target"], "disk.raw"),
              "the upload to start")
    assert volumes(place) == ["disk.raw", "disk.raw" + MARK]  # killed with its upload unfinished
    predicted = run_module("libvirt_volume", check=True, **args)
    redone = run_module("libvirt_volume", **args)
    assert not redone.get("failed"), redone["msg"]
    assert redone["actions"] == predicted["actions"] == [
        "delete incomplete volume %s/disk.raw" % place["pool"],
        "create volume %s/disk.raw (upload of raw image %s)" % (place["pool"], source)]
    assert volumes(place) == ["disk.raw"]
    assert filecmp.cmp(source, os.path.join(place["target"], "disk.raw"), shallow=False)
    assert run_module("libvirt_volume", **args)["changed"] is False


@proves("killed midway", "ova_import: import killed by SIGKILL while it converts the disk")
def test_import_killed_midway_is_finished_by_the_rerun(place, unique):  # noqa: F811 pylint: disable=redefined-outer-name
    ova, raw = build(place["dir"], unique, capacity_mib=256, content=os.urandom(6 << 10))
    name = unique + "g"
    volume = name + "-disk1.qcow2"
    args = spec(place, ova, name)
    kill_when(start_module("ova_import", **args), lambda: started(place["target"], volume), "the disk to be written")
    assert volumes(place) == [volume, volume + MARK]
    assert sh("virsh", "dominfo", name, check=False).returncode != 0  # the guest was not defined yet
    rerun = run_module("ova_import", **args)
    assert not rerun.get("failed"), rerun["msg"]
    assert rerun["actions"][0] == "delete incomplete volume %s in pool %s" % (volume, place["pool"])
    assert volumes(place) == [volume]
    assert sh("qemu-img", "compare", "-f", "raw", "-F", "qcow2", raw, os.path.join(place["target"], volume)).returncode == 0
    assert sh("virsh", "dominfo", name).returncode == 0
    assert run_module("ova_import", **args)["changed"] is False
