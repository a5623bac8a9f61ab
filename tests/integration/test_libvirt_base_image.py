"""virtcloud.core.libvirt_volume base images (source: a path or an http(s) URL, checksum, cache,
xz/gz, format detection) and linked clones (backing) against the real libvirtd; verified with
virsh vol-dumpxml, qemu-img info and sha256sum. The http server is a python http.server on
127.0.0.1, started by the test and stopped by its pid."""

from __future__ import annotations

import gzip
import hashlib
import itertools
import lzma
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from conftest import converge, run_module, sh

pytestmark = pytest.mark.usefixtures("libvirt_daemon")
MIB = 1 << 20
URI = "qemu:///system"


def virsh(*argv, check=True):
    return sh("virsh", "-c", URI, *argv, check=check)


@pytest.fixture
def pool(tmp_path, unique):
    name, path = unique + "p", str(tmp_path / "pool")
    assert run_module("libvirt_pool", name=name, path=path)["changed"]
    yield name, path
    for line in virsh("-q", "vol-list", name, check=False).stdout.splitlines():
        if line.strip():
            virsh("-q", "vol-delete", line.split()[0], "--pool", name, check=False)
    virsh("pool-destroy", name, check=False)
    virsh("pool-undefine", name, check=False)


class Server:
    """python -m http.server on 127.0.0.1 and a free port, serving `directory`; its access log
    (stderr) tells which files were fetched."""

    def __init__(self, directory, log):
        self.log = log
        with open(log, "w") as err:
            self.proc = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "--bind", "127.0.0.1",
                                          "--directory", directory, "0"],
                                         stdout=subprocess.PIPE, stderr=err, text=True)
        line = self.proc.stdout.readline()  # "Serving HTTP on 127.0.0.1 port N (...) ..."
        self.port = int(re.search(r"port (\d+)", line).group(1))

    def url(self, name):
        return "http://127.0.0.1:%d/%s" % (self.port, name)

    def gets(self, name):
        with open(self.log) as handle:
            return handle.read().count("GET /%s " % name)

    def stop(self):
        if self.proc.returncode is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
            self.proc.stdout.close()


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    srv = Server(str(served), str(tmp_path / "access.log"))
    srv.dir = str(served)
    yield srv
    srv.stop()


def sha256(path):
    return sh("sha256sum", path).stdout.split()[0]


def qemu_info(path, *extra):
    import json

    return json.loads(sh("qemu-img", "info", "-U", "--output=json", *extra, path).stdout)


def raw_image(path, size=8 * MIB):
    """A raw disk with a recognisable pattern at its start and in its middle (the rest sparse)."""
    with open(path, "wb") as image:
        image.write(b"VIRTCLOUD-BASE-IMAGE" * 100)
        image.seek(size // 2)
        image.write(os.urandom(64 * 1024))
        image.truncate(size)


def volume_content(pool_path, name, tmp_path):
    """sha256 of the volume's guest-visible bytes (converted to raw by qemu-img)."""
    out = str(tmp_path / (name + ".check.raw"))
    sh("qemu-img", "convert", "-O", "raw", os.path.join(pool_path, name), out)
    try:
        return sha256(out)
    finally:
        os.remove(out)


def test_base_image_from_url_checksum_cache_and_xz(pool, server, tmp_path, unique):
    pool_name, pool_path = pool
    raw = str(tmp_path / "base.raw")
    raw_image(raw)
    qcow = str(tmp_path / "base.qcow2")
    sh("qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, qcow)
    packed = os.path.join(server.dir, "base.img.xz")
    with open(qcow, "rb") as src, lzma.open(packed, "wb") as out:
        out.write(src.read())
    checksum = "sha256:" + sha256(packed)
    cache = str(tmp_path / "cache")
    spec = dict(pool=pool_name, source=server.url("base.img.xz"), checksum=checksum, cache_dir=cache)

    # qcow2 under xz, over http: detected, decompressed, converted to raw; four runs, one download
    result = converge("libvirt_volume", name="disk.raw", format="raw", **spec)
    assert result["actions"] == ["create volume %s/disk.raw (upload of qcow2 image %s)" % (pool_name, spec["source"])]
    assert result["volume"]["format"] == "raw" and result["volume"]["capacity"] == 8 * MIB
    assert server.gets("base.img.xz") == 1
    assert "<format type='raw'/>" in virsh("vol-dumpxml", "disk.raw", "--pool", pool_name).stdout
    assert qemu_info(os.path.join(pool_path, "disk.raw"))["format"] == "raw"
    assert volume_content(pool_path, "disk.raw", tmp_path) == sha256(raw)

    # a second volume from the same URL and checksum: from the cache, kept as qcow2
    second = run_module("libvirt_volume", name="disk.qcow2", capacity="16MiB", **spec)
    assert second["changed"] and second["volume"]["capacity"] == 16 * MIB, second
    assert server.gets("base.img.xz") == 1
    assert qemu_info(os.path.join(pool_path, "disk.qcow2"))["format"] == "qcow2"
    cached = sorted(os.listdir(cache))
    assert len(cached) == 2 and not any(n.startswith(".part") for n in cached), cached

    # a wrong checksum: named, nothing kept in the cache or the pool
    wrong = run_module("libvirt_volume", name="bad.qcow2", pool=pool_name, source=server.url("base.img.xz"),
                       checksum="sha256:" + "0" * 64, cache_dir=cache)
    assert wrong.get("failed") and wrong["msg"].startswith("checksum:") and "0" * 64 in wrong["msg"], wrong
    assert sorted(os.listdir(cache)) == cached
    assert virsh("vol-info", "bad.qcow2", "--pool", pool_name, check=False).returncode != 0

    # unreachable URL (nothing listens on the port any more): named, nothing left behind
    server.stop()
    gone = run_module("libvirt_volume", name="gone.qcow2", pool=pool_name, source=server.url("other.img"),
                      cache_dir=cache)
    assert gone.get("failed") and gone["msg"].startswith("source: cannot fetch"), gone
    assert sorted(os.listdir(cache)) == cached
    assert virsh("vol-info", "gone.qcow2", "--pool", pool_name, check=False).returncode != 0
    # a rerun of the made volume needs no server: changed=false without downloading
    assert run_module("libvirt_volume", name="disk.raw", format="raw", **spec)["changed"] is False


def test_local_gz_source_by_magic_and_bad_input(pool, tmp_path):
    pool_name, pool_path = pool
    raw = str(tmp_path / "base.raw")
    raw_image(raw, 4 * MIB)
    packed = str(tmp_path / "image.bin")  # gzip inside, not by its name
    with open(raw, "rb") as src, gzip.open(packed, "wb") as out:
        out.write(src.read())
    sha512 = hashlib.sha512(open(packed, "rb").read()).hexdigest()
    cache = str(tmp_path / "cache")
    result = converge("libvirt_volume", pool=pool_name, name="gz.qcow2", source=packed,
                      checksum="sha512:" + sha512.upper(), cache_dir=cache)
    assert result["volume"]["format"] == "qcow2" and result["volume"]["capacity"] == 4 * MIB
    assert volume_content(pool_path, "gz.qcow2", tmp_path) == sha256(raw)

    for args, option in ((dict(source=str(tmp_path / "missing.img")), "source"),
                         (dict(source="ftp://127.0.0.1/x.img"), "source"),
                         (dict(source=packed, checksum="md5:abc"), "checksum"),
                         (dict(source=packed, checksum="sha256:" + "1" * 64), "checksum")):
        bad = run_module("libvirt_volume", pool=pool_name, name="bad.qcow2", cache_dir=cache, **args)
        assert bad.get("failed") and bad["msg"].startswith(option + ":"), (args, bad)
    assert virsh("vol-info", "bad.qcow2", "--pool", pool_name, check=False).returncode != 0


def test_linked_clone_is_small_and_grown(pool, tmp_path):
    pool_name, pool_path = pool
    # a qcow2 template with 200 MiB of written data, and a raw one
    data = str(tmp_path / "data.raw")
    with open(data, "wb") as image:
        image.writelines(itertools.repeat(b"\x5a" * MIB, 200))
        image.truncate(256 * MIB)
    sh("qemu-img", "convert", "-f", "raw", "-O", "qcow2", data, os.path.join(pool_path, "template.qcow2"))
    os.remove(data)
    sh("qemu-img", "create", "-f", "raw", os.path.join(pool_path, "template.raw"), "64M")
    assert run_module("libvirt_pool", name=pool_name, path=pool_path, refresh=True)["pool"]["volumes"] == 2

    clone = converge("libvirt_volume", pool=pool_name, name="web.qcow2", backing="template.qcow2", capacity="1GiB")
    template_path = os.path.join(pool_path, "template.qcow2")
    assert clone["actions"] == ["create volume %s/web.qcow2 (linked clone of template.qcow2, 1 GiB)" % pool_name]
    assert clone["volume"]["backing"] == {"path": template_path, "format": "qcow2"}
    assert clone["volume"]["capacity"] == 1 << 30
    path = os.path.join(pool_path, "web.qcow2")
    assert os.stat(path).st_blocks * 512 < 2 * MIB  # O(1): the template's 200 MiB are not copied
    xml = virsh("vol-dumpxml", "web.qcow2", "--pool", pool_name).stdout
    assert re.search(r"<backingStore>\s*<path>%s</path>\s*<format type='qcow2'/>" % re.escape(template_path), xml)
    chain = qemu_info(path, "--backing-chain")
    assert [(i["filename"], i["format"]) for i in chain] == [(path, "qcow2"), (template_path, "qcow2")]
    assert chain[0]["virtual-size"] == 1 << 30 and chain[0]["backing-filename-format"] == "qcow2"

    # a raw template: backing format raw, capacity at least the template's
    on_raw = converge("libvirt_volume", pool=pool_name, name="raw-child.qcow2", backing="template.raw")
    assert on_raw["volume"]["capacity"] == 64 * MIB
    assert qemu_info(os.path.join(pool_path, "raw-child.qcow2"))["backing-filename-format"] == "raw"

    # the full clone stays a full copy
    full = run_module("libvirt_volume", pool=pool_name, name="full.qcow2", clone_from="template.qcow2")
    assert full["changed"] and full["volume"]["backing"] is None, full
    assert os.stat(os.path.join(pool_path, "full.qcow2")).st_blocks * 512 > 150 * MIB

    for args, option in ((dict(backing="nope.qcow2"), "backing"), (dict(backing="../x"), "backing"),
                         (dict(backing="template.qcow2", format="raw"), "format"),
                         (dict(backing="template.qcow2", preallocation="falloc"), "preallocation")):
        bad = run_module("libvirt_volume", pool=pool_name, name="bad.qcow2", **args)
        assert bad.get("failed") and bad["msg"].startswith(option + ":"), (args, bad)
    assert virsh("vol-info", "bad.qcow2", "--pool", pool_name, check=False).returncode != 0
    # an existing volume is not rebased onto another template
    rebase = run_module("libvirt_volume", pool=pool_name, name="full.qcow2", backing="template.qcow2")
    assert rebase.get("failed") and rebase["msg"].startswith("backing:"), rebase


def test_grow_disk_of_running_guest_in_place(pool, tmp_path, unique):
    from lib.guest import GUEST_MARKER, guest_assets

    pool_name, pool_path = pool
    os.chmod(str(tmp_path), 0o755)
    assert run_module("libvirt_volume", pool=pool_name, name="grow.qcow2", capacity="16MiB")["changed"]
    disk = os.path.join(pool_path, "grow.qcow2")
    kernel, initrd = guest_assets()
    log = str(tmp_path / "console.log")
    guest = dict(name=unique, uri=URI, virt_type="qemu", memory="192MiB", vcpus=1, kernel=kernel, initrd=initrd,
                 cmdline="console=ttyS0 panic=-1", serial={"type": "file", "path": log},
                 disks=[{"path": disk}], state="running")
    try:
        started = run_module("libvirt_domain", **guest)
        assert started["changed"] and started["domain"]["state"] == "running", started
        domid = virsh("domid", unique).stdout.strip()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and GUEST_MARKER not in open(log, errors="replace").read():
            time.sleep(0.5)

        grown = converge("libvirt_volume", pool=pool_name, name="grow.qcow2", capacity="48MiB")
        assert grown["actions"] == ["grow volume %s/grow.qcow2 to 48 MiB (live, as disk vda of running guest %s)"
                                    % (pool_name, unique)], grown["actions"]
        info = virsh("domblkinfo", unique, "vda", "--human").stdout
        assert re.search(r"Capacity:\s+48\.000 MiB", info), info  # the running QEMU sees it
        assert virsh("domid", unique).stdout.strip() == domid  # the same guest, not redefined or restarted
        assert qemu_info(disk)["virtual-size"] == 48 * MIB
        assert not run_module("libvirt_domain", **guest)["changed"]
    finally:
        virsh("destroy", unique, check=False)
        virsh("undefine", unique, check=False)
