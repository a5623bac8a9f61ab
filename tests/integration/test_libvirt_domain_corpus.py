"""libvirt_domain against a corpus of domain XMLs (tests/data/domains), one guest per file.

Each file is a <domain> the way people write one (written for this project from libvirt's domain
format documentation and its schema), one theme per file. Every file goes through the same contract:
define it from `xml` (changed), rerun (no change, and the definition libvirt stores is byte for byte
what the first run left), check-mode rerun (no change), every device of the file is in the stored
definition and none was duplicated, then state=absent removes it. No guest is started.

Placeholders in the files: NAME (the guest), DIR (a directory with the disk images and the 9p share),
NET (a libvirt network of the test's own in 198.18.0.0/15), BRIDGE (a Linux bridge of the test's own),
UUID_UPPER (a fresh UUID in upper case).
"""

from __future__ import annotations

import collections
import difflib
import glob
import os
import re
import tempfile
import uuid

import pytest
from lxml import etree

from conftest import run_module, sh  # noqa: E402
from test_libvirt_domain import guest, virsh  # noqa: F401 pylint: disable=unused-import

URI = "qemu:///system"
CORPUS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "domains")
CORPUS = sorted(glob.glob(os.path.join(CORPUS_DIR, "*.xml")))

# Per device tag: what identifies an element of the input in the stored definition. Each entry is
# (path of an element under the device, "." for the device itself; attribute or None for its text).
# Only the parts the input sets count: libvirt fills in the rest (a bus, a port, a model).
IDENTITY = {
    "emulator": ((".", None),),
    "disk": (("target", "dev"),),
    "interface": (("mac", "address"), (".", "type"), ("source", "network"), ("source", "bridge")),
    "controller": ((".", "type"), (".", "index"), (".", "model")),
    "input": ((".", "type"), (".", "bus")),
    "serial": ((".", "type"), ("target", "port")),
    "parallel": ((".", "type"), ("target", "port")),
    "console": ((".", "type"), ("target", "type"), ("target", "port")),
    "channel": ((".", "type"), ("target", "name")),
    "filesystem": (("target", "dir"),),
    "graphics": ((".", "type"),),
    "video": (("model", "type"),),
    "sound": ((".", "model"),),
    "audio": ((".", "id"), (".", "type")),
    "watchdog": ((".", "model"), (".", "action")),
    "memballoon": ((".", "model"),),
    "rng": ((".", "model"), ("backend", "model")),
    "panic": ((".", "model"),),
    "redirdev": ((".", "bus"), (".", "type")),
    "hub": ((".", "type"),),
    "smartcard": ((".", "mode"), (".", "type")),
    "iommu": ((".", "model"),),
    "vsock": ((".", "model"), ("cid", "address")),
    "shmem": ((".", "name"),),
}


def stored_xml(name):
    return virsh("dumpxml", "--inactive", "--security-info", name).stdout


def identity(el):
    """The identifying (path, attribute, value) triples the element sets, lower-cased."""
    out = []
    for path, attr in IDENTITY.get(el.tag, ()):
        node = el if path == "." else el.find(path)
        if node is None:
            continue
        value = node.get(attr) if attr else (node.text or "").strip()
        if value:
            out.append((path, attr, value.lower()))
    return out


def has(el, triples):
    for path, attr, value in triples:
        node = el if path == "." else el.find(path)
        found = None if node is None else (node.get(attr) if attr else (node.text or "").strip())
        if found is None or found.lower() != value:
            return False
    return True


def root_of(xml):
    return etree.fromstring(xml.encode())


def devices_of(xml):
    devices = root_of(xml).find("devices")
    return [] if devices is None else [el for el in devices if isinstance(el.tag, str)]


def missing_devices(given, stored):
    """The devices of `given` with no distinct counterpart in `stored` (most specific first, so a
    bare <input type='tablet'/> cannot take the place of one with a bus)."""
    free = list(stored)
    missing = []
    for el in sorted(given, key=lambda e: -len(identity(e))):
        triples = identity(el)
        match = next((s for s in free if s.tag == el.tag and has(s, triples)), None)
        if match is None:
            missing.append(etree.tostring(el, encoding="unicode").strip())
        else:
            free.remove(match)
    return missing


def count(devices):
    return collections.Counter(el.tag for el in devices)


def text_diff(a, b, a_name, b_name):
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), a_name, b_name))


@pytest.fixture(scope="module")
def corpus_host(libvirt_daemon):
    """What the files refer to, made once for the module and removed also on failure: disk images and
    a share directory, an isolated libvirt network in 198.18.0.0/15, a Linux bridge. The names follow
    the `unique` fixture's form (which is per test, this is per module)."""
    tag = uuid.uuid4().hex[:8]
    made = {"network": None, "bridge": None}
    with tempfile.TemporaryDirectory(prefix="vct-corpus-") as workdir:
        try:
            os.chmod(workdir, 0o755)
            for image, fmt, size in (("a.qcow2", "qcow2", "16M"), ("b.qcow2", "qcow2", "16M"),
                                     ("c.raw", "raw", "8M"), ("d.raw", "raw", "1440K"), ("cd.iso", "raw", "1M")):
                sh("qemu-img", "create", "-q", "-f", fmt, os.path.join(workdir, image), size)
            os.mkdir(os.path.join(workdir, "share"))
            network = "vct%sc" % tag
            octet = 110 + int(tag[-2:], 16) % 40  # 198.18.110-149: no other test uses these
            xml = ("<network><name>%s</name><bridge name='vcn%s'/><ip address='198.18.%d.1' netmask='255.255.255.0'/>"
                   "</network>" % (network, tag, octet))
            with tempfile.NamedTemporaryFile("w", suffix=".xml") as handle:
                handle.write(xml)
                handle.flush()
                virsh("net-define", handle.name)
            made["network"] = network
            virsh("net-start", network)
            bridge = "vcb" + tag
            sh("ip", "link", "add", bridge, "type", "bridge")
            made["bridge"] = bridge
            yield {"DIR": workdir, "NET": network, "BRIDGE": bridge}
        finally:
            if made["bridge"]:
                sh("ip", "link", "del", made["bridge"], check=False)
            if made["network"]:
                virsh("net-destroy", made["network"], check=False)
                virsh("net-undefine", made["network"], check=False)


def render(path, name, host):
    with open(path) as handle:
        text = handle.read()
    values = dict(host, NAME=name, UUID_UPPER=str(uuid.uuid4()).upper())
    return re.sub(r"\b(%s)\b" % "|".join(values), lambda m: values[m.group(1)], text)


@pytest.mark.parametrize("path", CORPUS, ids=[os.path.basename(p)[:-4] for p in CORPUS])
def test_corpus_domain(path, corpus_host, guest):
    xml = render(path, guest, corpus_host)
    given = devices_of(xml)
    # no virt_type: the XML's <domain type='qemu'> decides, from the first run on
    spec = {"name": guest, "uri": URI, "state": "present", "xml": xml}

    first = run_module("libvirt_domain", diff=True, **spec)
    assert first.get("failed") is not True and first.get("changed") is True, first
    defined = stored_xml(guest)
    stored = root_of(defined)
    assert stored.get("type") == "qemu", defined
    # what libvirt keeps verbatim from the input is kept: every top-level element, title and
    # description character for character
    dropped = {el.tag for el in root_of(xml) if isinstance(el.tag, str)} - {el.tag for el in stored}
    assert not dropped, "elements of the input not in the stored definition: %s\n%s" % (sorted(dropped), defined)
    for tag in ("title", "description"):
        if root_of(xml).find(tag) is not None:
            assert stored.findtext(tag) == root_of(xml).findtext(tag), \
                "%s stored as %r, given %r" % (tag, stored.findtext(tag), root_of(xml).findtext(tag))
    kept = devices_of(defined)
    missing = missing_devices(given, kept)
    assert not missing, "devices of the input not in the stored definition:\n%s\n\nstored:\n%s" \
        % ("\n".join(missing), defined)
    short = {tag: n for tag, n in count(given).items() if count(kept)[tag] < n}
    assert not short, "fewer devices stored than given: %s" % short

    second = run_module("libvirt_domain", diff=True, **spec)
    assert second.get("failed") is not True, second
    after = stored_xml(guest)
    changes = text_diff(defined, after, "after run 1", "after run 2")
    before_counts, after_counts = count(kept), count(devices_of(after))
    moved = {tag: (before_counts[tag], after_counts[tag]) for tag in set(before_counts) | set(after_counts)
             if before_counts[tag] != after_counts[tag]}
    assert not moved, "the rerun changed the device counts (run 1, run 2): %s\n%s" % (moved, changes)
    assert second["changed"] is False and second["actions"] == [], \
        "rerun changed: %s\nmodule diff: %s\n%s" % (second["actions"], second.get("diff"), changes)
    assert after == defined, changes

    checked = run_module("libvirt_domain", check=True, **spec)
    assert checked.get("failed") is not True and checked["changed"] is False, checked
    assert stored_xml(guest) == defined

    gone = run_module("libvirt_domain", name=guest, uri=URI, state="absent")
    assert gone.get("failed") is not True and gone["changed"] is True, gone
    assert guest not in virsh("list", "--all", "--name").stdout.split()
