"""virtcloud.core.libvirt_volume / libvirt_pool owner, group, mode and label against the real
libvirtd (qemu:///system), verified with stat. libvirt sets them when it creates a volume or builds
a pool; the module changes those of an existing file itself (libvirt has no call for it)."""

from __future__ import annotations

import os

import pytest

from conftest import converge, run_module, sh
from test_libvirt_storage import drop_pool

pytestmark = pytest.mark.usefixtures("libvirt_daemon")


def mode_owner(path):
    st = os.stat(path)
    return "%04o" % (st.st_mode & 0o7777), st.st_uid, st.st_gid


def test_volume_permissions_at_creation_and_changed_on_the_file(tmp_path, unique):
    pool, path = unique + "p", str(tmp_path / "pool")
    try:
        created = converge("libvirt_pool", name=pool, path=path, mode="0750", owner="0", group="daemon")
        assert mode_owner(path) == ("0750", 0, 1)
        assert (created["pool"]["mode"], created["pool"]["owner"], created["pool"]["group"]) == ("0750", 0, 1)
        assert "<mode>0750</mode>" in sh("virsh", "pool-dumpxml", "--inactive", pool).stdout

        vol = converge("libvirt_volume", pool=pool, name="d.qcow2", capacity="16MiB", owner="daemon", group="2",
                       mode="0640")
        file = os.path.join(path, "d.qcow2")
        assert mode_owner(file) == ("0640", 1, 2)
        assert (vol["volume"]["mode"], vol["volume"]["owner"], vol["volume"]["group"]) == ("0640", 1, 2)
        assert "<owner>1</owner>" in sh("virsh", "vol-dumpxml", "d.qcow2", "--pool", pool).stdout

        # an existing volume: libvirt cannot change them, the module does on the file, then refreshes
        changed = converge("libvirt_volume", pool=pool, name="d.qcow2", mode="0600", owner="0")
        assert changed["actions"] == ["set mode 0600, owner 0 of volume %s/d.qcow2" % pool]
        assert mode_owner(file) == ("0600", 0, 2)
        assert changed["diff"]["before"]["mode"] == "0640" and changed["diff"]["after"]["mode"] == "0600"
        assert "<mode>0600</mode>" in sh("virsh", "vol-dumpxml", "d.qcow2", "--pool", pool).stdout
        info = run_module("libvirt_storage_info", name=pool)["pools"][0]
        assert info["mode"] == "0750" and info["volumes"][0]["mode"] == "0600"

        # the pool's directory: redefined, changed now, kept idempotent
        again = converge("libvirt_pool", name=pool, path=path, mode="0755", group="0")
        assert mode_owner(path) == ("0755", 0, 0) and "restart_required" not in again
        assert "<mode>0755</mode>" in sh("virsh", "pool-dumpxml", "--inactive", pool).stdout

        # bad input fails naming the option, before anything changes
        for bad, option in ((dict(mode="0999"), "mode"), (dict(mode="88888"), "mode"),
                            (dict(owner="no-such-user-vct"), "owner"), (dict(group="no-such-group-vct"), "group"),
                            (dict(label="system_u:object_r:svirt_image_t:s0"), "label")):
            failed = run_module("libvirt_volume", pool=pool, name="d.qcow2", **bad)
            assert failed.get("failed") and failed["option"] == option, failed
        assert mode_owner(file) == ("0600", 0, 2)
    finally:
        drop_pool(pool)
