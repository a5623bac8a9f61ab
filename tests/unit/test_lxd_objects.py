"""The pure parts of lxd_image, lxd_profile and lxd_network: LXD maps as the user gives them, names,
addresses, who uses an object, image files (fingerprint, metadata, the streamed multipart body) and
the image plan (which aliases move, which image goes)."""

from __future__ import annotations

import email.parser
import hashlib
import io
import json
import tarfile

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.lxd import image, network, objects, profile


def tarball(path, members, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return str(path)


META = json.dumps({"architecture": "x86_64", "creation_date": 1700000000,
                   "properties": {"os": "busybox", "release": 22.04}}).encode()


# ---------------------------------------------------------------- maps, names, users
def test_maps_hold_text_as_lxd_does():
    assert objects.text_map({"a": True, "b": False, "c": 2, "d": "x", "e": None}, "config") == \
        {"a": "true", "b": "false", "c": "2", "d": "x", "e": None}
    assert objects.text_map(None, "config") is None
    with pytest.raises(InputError, match=r"config: value of 'limits' is the YAML number 1\.1"):
        objects.text_map({"limits": 1.10}, "config")
    with pytest.raises(InputError, match="devices.eth0: value of 'name' is null"):
        objects.text_map({"name": None}, "devices.eth0", removable=False)
    with pytest.raises(InputError, match="must be a string"):
        objects.text_map({"a": [1]}, "config")


def test_merged_sets_named_keys_removes_nulls_keeps_the_rest():
    assert objects.merged({"a": "1", "b": "2"}, {"b": None, "c": "3"}) == {"a": "1", "c": "3"}
    assert objects.merged({"a": "1"}, None) == {"a": "1"}


@pytest.mark.parametrize("value", ["", ".", "..", "a/b", "a\nb", None])
def test_profile_names_lxd_or_the_cli_cannot_address(value):
    if value is None:
        assert objects.name(None, "name", "profile") is None
        return
    with pytest.raises(InputError, match="^name: "):
        objects.name(value, "name", "profile")


@pytest.mark.parametrize("value, ok", [("br0", True), ("a_b.c-1", True), ("b", False), ("a" * 16, False),
                                       ("a b", False), ("gäst", False), ("..", False), ("a:b", False)])
def test_network_names_are_interface_names(value, ok):
    if ok:
        assert objects.network_name(value, "name") == value
    else:
        with pytest.raises(InputError, match="^name: .*2 to 15"):
            objects.network_name(value, "name")


def test_users_read_from_lxd_urls():
    assert objects.users(["/1.0/profiles/default", "/1.0/instances/web?project=default",
                          "/1.0/instances/a%20b?project=lab", "/1.0/instances/c1/snapshots/s0"]) == \
        ["instance a b (project lab)", "instance c1/snapshots/s0", "instance web", "profile default"]


# ---------------------------------------------------------------- network addresses, profile devices
def test_network_addresses_given_or_none_never_auto():
    assert network.config({"ipv4.address": "198.18.7.1/24", "ipv6.address": "NONE", "ipv4.nat": True}, "config") == \
        {"ipv4.address": "198.18.7.1/24", "ipv6.address": "none", "ipv4.nat": "true"}
    assert network.config({"ipv6.address": "2001:DB8::1/64"}, "config") == {"ipv6.address": "2001:db8::1/64"}
    for key, value, fragment in (("ipv4.address", "auto", "auto lets LXD pick"), ("ipv6.address", "Auto", "auto"),
                                 ("ipv4.address", "198.18.7.1", "prefix length"),
                                 ("ipv4.address", "2001:db8::1/64", "not an IPv4"),
                                 ("ipv6.address", "198.18.7.1/24", "not an IPv6"),
                                 ("ipv4.address", None, "give none")):
        with pytest.raises(InputError, match="config.%s: .*%s" % (key.replace(".", r"\."), fragment)):
            network.config({key: value}, "config")


def test_a_new_bridge_gets_no_address_it_was_not_given():
    service = network.NetworkService({})
    created = service.created({"name": "br0", "description": None, "config": {"ipv4.address": "198.18.7.1/24"}})
    assert created["config"] == {"ipv4.address": "198.18.7.1/24", "ipv6.address": "none"}
    assert service.create_body(created) == {"name": "br0", "description": "", "type": "bridge",
                                            "config": {"ipv4.address": "198.18.7.1/24", "ipv6.address": "none"}}


def test_profile_devices_have_a_type_and_are_maps():
    assert profile.devices({"eth0": {"type": "nic", "mtu": 1400}, "old": None}, "devices") == \
        {"eth0": {"type": "nic", "mtu": "1400"}, "old": None}
    with pytest.raises(InputError, match="^devices.eth0: every device has a type"):
        profile.devices({"eth0": {"network": "lxdbr0"}}, "devices")
    with pytest.raises(InputError, match="^devices.eth0: give the device as a map"):
        profile.devices({"eth0": "nic"}, "devices")


def test_profile_update_is_one_put_naming_what_changes():
    service = profile.ProfileService({})
    observed = {"name": "p", "description": "d", "used_by": [], "config": {"a": "1", "b": "2"},
                "devices": {"eth0": {"type": "nic"}}}
    plan = service.plan({"name": "p", "state": "present", "description": None, "config": {"a": "1", "b": None},
                         "devices": {"eth0": {"type": "nic", "mtu": "1400"}, "eth1": None}}, observed)
    assert [s.description for s in plan.steps] == ["update profile p: config b; devices eth0"]
    assert plan.after == {**observed, "config": {"a": "1"}, "devices": {"eth0": {"type": "nic", "mtu": "1400"}}}
    same = service.plan({"name": "p", "state": "present", "description": "d", "config": {"a": "1"}, "devices": None},
                        observed)
    assert same.steps == [] and same.after == observed


def test_removal_refused_while_in_use_and_for_the_default_profile():
    service = profile.ProfileService({})
    observed = {"name": "p", "description": "", "used_by": ["instance web"], "config": {}, "devices": {}}
    with pytest.raises(InputError, match="^state: profile p is in use by instance web"):
        service.resolve({"name": "p", "state": "absent"}, observed)
    with pytest.raises(InputError, match="^name: LXD keeps the default profile"):
        service.resolve({"name": "default", "state": "absent"}, None)


# ---------------------------------------------------------------- image files
def test_aliases_and_fingerprints():
    assert image.aliases(["a", "b", "a"], "aliases") == ["a", "b"]
    for bad in ("", " ", ".", "..", "remote:x", "a\tb"):
        with pytest.raises(InputError, match="^aliases: "):
            image.aliases([bad], "aliases")
    assert image.fingerprint(" ABC123 ", "fingerprint") == "abc123"
    with pytest.raises(InputError, match="^fingerprint: 'xyz' is not an image fingerprint"):
        image.fingerprint("xyz", "fingerprint")


def test_fingerprint_of_a_split_image_is_the_sha256_of_both_files(tmp_path):
    (tmp_path / "m").write_bytes(b"meta" * 1000)
    (tmp_path / "r").write_bytes(b"root" * 300000)
    assert image.file_digest([tmp_path / "m", tmp_path / "r"]) == \
        hashlib.sha256(b"meta" * 1000 + b"root" * 300000).hexdigest()


def test_multipart_body_streams_the_files_in_order(tmp_path):
    (tmp_path / "meta.tar.gz").write_bytes(b"M" * 5000)
    (tmp_path / "root fs.tar").write_bytes(bytes(range(256)) * 9000)
    body = image.Multipart([("metadata", str(tmp_path / "meta.tar.gz")), ("rootfs", str(tmp_path / "root fs.tar"))])
    chunks = []
    while True:
        chunk = body.read(8192)
        if not chunk:
            break
        assert len(chunk) <= 8192
        chunks.append(chunk)
    body.close()
    raw = b"".join(chunks)
    assert len(raw) == body.length
    message = email.parser.BytesParser().parsebytes(b"Content-Type: " + body.content_type.encode() + b"\r\n\r\n" + raw)
    parts = message.get_payload()
    assert [(p.get_param("name", header="content-disposition"), p.get_filename()) for p in parts] == \
        [("metadata", "meta.tar.gz"), ("rootfs", "root_fs.tar")]
    assert parts[0].get_payload(decode=True) == b"M" * 5000
    assert parts[1].get_payload(decode=True) == bytes(range(256)) * 9000


def test_metadata_read_as_lxd_reads_it(tmp_path):
    meta = tarball(tmp_path / "m.tar.gz", {"metadata.yaml": META, "templates": None})
    assert image.read_image_file(meta, "source.metadata") == \
        {"architecture": "x86_64", "type": None, "properties": {"os": "busybox", "release": "22.04"}}
    as_yaml = tarball(tmp_path / "y.tar.xz", {"./metadata.yaml": b"architecture: x86_64\ncreation_date: 1\n"}, "w:xz")
    assert image.read_image_file(as_yaml, "source.metadata")["properties"] == {}
    unified = tarball(tmp_path / "u.tar", {"metadata.yaml": META, "rootfs": None, "rootfs/bin": None})
    assert image.read_image_file(unified, "source.tarball", unified=True)["type"] == "container"
    problems = {
        "has no metadata.yaml": tarball(tmp_path / "n.tar", {"rootfs/x": b"x"}),
        "needs architecture and creation_date": tarball(tmp_path / "c.tar", {"metadata.yaml": b"{\"architecture\": \"x\"}"}),
        "not an image tarball": str(tmp_path / "m"),
    }
    (tmp_path / "m").write_bytes(b"plain text, not a tar")
    for fragment, path in problems.items():
        with pytest.raises(InputError, match="^source.metadata: .*%s" % fragment):
            image.read_image_file(path, "source.metadata")
    with pytest.raises(InputError, match="^source.tarball: .*holds no rootfs"):
        image.read_image_file(meta, "source.tarball", unified=True)


@pytest.mark.parametrize("source, option", [
    ({"tarball": "/t", "metadata": "/m"}, "source.metadata"),
    ({"metadata": "/m", "instance": "c"}, "source.instance"),
    ({"rootfs": "/r"}, "source.metadata"),
    ({"snapshot": "s"}, "source.snapshot"),
    ({"instance": "a/b"}, "source.instance"),
    ({"metadata": "/nonexistent/m", "rootfs": "/nonexistent/r"}, "source.metadata"),
])
def test_sources_that_cannot_make_an_image(source, option):
    full = {key: None for key in image.SOURCE}
    with pytest.raises(InputError) as err:
        image.ImageService._source({**full, **source})  # pylint: disable=protected-access
    assert err.value.option == option


# ---------------------------------------------------------------- the image plan
def state(fingerprint, aliases, **kw):
    return {"fingerprint": fingerprint, "aliases": aliases, "properties": {}, "public": False,
            "architecture": "x86_64", "type": "container", "size": 1, **kw}


def desired(**kw):
    out = {"fingerprint": None, "aliases": None, "source": None, "properties": None, "public": None, "refresh": False,
           "state": "present", "targets": {}, "others": {}, "publish": None}
    out.update(kw)
    return out


def actions(plan):
    return [step.description for step in plan.steps]


def test_aliases_move_and_an_image_left_without_one_goes():
    service = image.ImageService({})
    mine, old, shared = "a" * 64, "b" * 64, "c" * 64
    plan = service.plan(desired(fingerprint=mine, aliases=["x", "y", "z"],
                                targets={"x": mine, "y": old, "z": shared},
                                others={mine: ["w", "x"], old: ["y"], shared: ["keep", "z"]}),
                        state(mine, ["w", "x"]))
    assert actions(plan) == ["move alias y from image bbbbbbbbbbbb", "move alias z from image cccccccccccc",
                             "remove alias w", "delete image bbbbbbbbbbbb (its last alias moved)"]
    assert plan.after["aliases"] == ["x", "y", "z"]


def test_properties_and_public_change_in_place():
    service = image.ImageService({})
    observed = state("a" * 64, ["x"], properties={"os": "busybox", "old": "1"})
    plan = service.plan(desired(fingerprint="a" * 64, properties={"old": None, "new": "2"}, public=True), observed)
    assert actions(plan) == ["update image aaaaaaaaaaaa: properties, public"]
    assert plan.after == {**observed, "properties": {"os": "busybox", "new": "2"}, "public": True}
    assert service.plan(desired(fingerprint="a" * 64, properties={"os": "busybox"}), observed).steps == []


def test_publish_predicts_everything_but_what_lxd_computes():
    service = image.ImageService({})
    publish = {"source": {"type": "snapshot", "name": "c1/s0"}, "label": "snapshot c1/s0", "architecture": "x86_64",
               "type": "container", "properties": {"os": "busybox", "role": "t"}}
    old = "d" * 64
    plan = service.plan(desired(aliases=["t"], publish=publish, refresh=True, targets={"t": old}, others={old: ["t"]}),
                        state(old, ["t"]))
    assert actions(plan) == ["publish snapshot c1/s0 as an image", "move alias t from image dddddddddddd",
                             "delete image dddddddddddd (its last alias moved)"]
    assert plan.after == {**state(None, ["t"], properties=publish["properties"]), "size": None}
