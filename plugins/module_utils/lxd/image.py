# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""LXD images: imported from image files, published from an instance or a snapshot, their aliases,
properties and `public` changed in place, deleted.

Which image the task means: its `fingerprint`; for image files, the fingerprint LXD will give them
(the sha256 of the unified tarball, or of the metadata tarball's bytes followed by the rootfs
file's), known before anything is uploaded; otherwise the image the first alias points at. An
import is therefore done once per content; a publish is done when the first alias does not exist
yet, or on every run with `refresh`.

Aliases are managed as a whole: the image gets exactly the aliases the task lists, an alias held
by another image is moved to it, and an image that loses its last alias that way (the previous
template under a republished alias) is deleted. Properties are managed key by key; properties and
`public` are changed in place, never by importing again.

Uploads are one multipart/form-data body (parts `metadata` and `rootfs`, or `rootfs.img` for a
virtual machine) or the unified tarball, read from the files as they are sent."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import uuid
from urllib.parse import quote

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    InputError,
    MissingDependency,
)
from ansible_collections.virtcloud.core.plugins.module_utils.lxd import objects
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.client import LxdService, name_path

try:
    import yaml
except ImportError as exc:  # reported only for a metadata.yaml that is not JSON
    yaml = None
    YAML_ERROR = exc
else:
    YAML_ERROR = None

CHUNK = 1 << 20
QCOW2 = b"QFI\xfb"  # a virtual machine's rootfs.img
_FINGERPRINT = re.compile(r"[0-9a-f]{1,64}")
SOURCE = {
    "metadata": Opt(type="path"),
    "rootfs": Opt(type="path"),
    "tarball": Opt(type="path"),
    "instance": Opt(),
    "snapshot": Opt(),
}


def short(fingerprint):
    return fingerprint[:12] if fingerprint else "(new)"


def alias(value, option):
    """An alias LXD and `lxc launch ALIAS` take: not empty, not '.' or '..', no ':' (the CLI reads
    what is before it as a remote) and no control characters."""
    if not isinstance(value, str) or not value.strip():
        raise InputError(option, "%r is not an alias: give a name such as debian-12" % (value,))
    if value in (".", "..") or ":" in value or re.search(r"[\x00-\x1f\x7f]", value):
        raise InputError(option, "%r is not an alias LXD and the lxc CLI can use: not '.' or '..', no ':' "
                                 "(lxc reads it as a remote) and no control characters" % value)
    return value


def aliases(value, option):
    """The list of aliases, checked, duplicates dropped, in the task's order (the first one finds
    the image)."""
    out = []
    for entry in value:
        alias(entry, option)
        if entry not in out:
            out.append(entry)
    return out


def fingerprint(value, option):
    text = value.strip().lower() if isinstance(value, str) else value
    if not isinstance(text, str) or not _FINGERPRINT.fullmatch(text):
        raise InputError(option, "%r is not an image fingerprint (or its start): hex digits, e.g. baca0e35202a" % (value,))
    return text


def file_digest(paths):
    """The sha256 of the files' bytes one after the other: LXD's fingerprint of an image upload."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as handle:
            for block in iter(lambda h=handle: h.read(CHUNK), b""):
                digest.update(block)
    return digest.hexdigest()


def _parse_metadata(data, option, path):
    try:
        return json.loads(data)
    except ValueError:
        pass
    if yaml is None:
        raise MissingDependency("PyYAML", "pyyaml", YAML_ERROR)
    try:
        return yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise InputError(option, "%s: metadata.yaml is not valid YAML: %s" % (path, exc))


def read_image_file(path, option, unified=False):
    """What LXD reads from a metadata tarball (or a unified image tarball) before it takes it:
    {'architecture', 'properties', 'type'}; an InputError naming `option` for what LXD would refuse."""
    meta, kind = None, None
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                name = member.name[2:] if member.name.startswith("./") else member.name
                if name == "metadata.yaml" and member.isfile():
                    meta = _parse_metadata(tar.extractfile(member).read(), option, path)
                elif name.startswith("rootfs/") or name == "rootfs":
                    kind = "container"
                elif name == "rootfs.img":
                    kind = "virtual-machine"
                if meta is not None and (kind or not unified):
                    break
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise InputError(option, "%s is not an image tarball this host can read (a tar, plain or gzip, bzip2 or xz "
                                 "compressed): %s" % (path, exc))
    if not isinstance(meta, dict):
        raise InputError(option, "%s has no metadata.yaml: not an LXD image %s" % (path, "tarball" if unified else "metadata tarball"))
    if not meta.get("architecture") or not meta.get("creation_date"):
        raise InputError(option, "%s: metadata.yaml needs architecture and creation_date (LXD refuses the image "
                                 "without them)" % path)
    if unified and kind is None:
        raise InputError(option, "%s holds no rootfs/ or rootfs.img: not a unified LXD image" % path)
    properties = meta.get("properties") or {}
    if not isinstance(properties, dict):
        raise InputError(option, "%s: the properties of metadata.yaml are not a map" % path)
    return {"architecture": str(meta["architecture"]), "type": kind,
            "properties": {str(k): "" if v is None else str(v) for k, v in properties.items()}}


class Multipart:
    """A multipart/form-data body of files, read part by part as it is sent, never held whole:
    `length` is its size (the Content-Length), `content_type` its header."""

    def __init__(self, parts):
        boundary = uuid.uuid4().hex
        self.content_type = "multipart/form-data; boundary=" + boundary
        self.pieces = []
        for index, (field, path) in enumerate(parts):
            head = "%s--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n" \
                   "Content-Type: application/octet-stream\r\n\r\n" \
                   % ("\r\n" if index else "", boundary, field, _header_text(os.path.basename(path)))
            self.pieces += [head.encode("ascii"), path]
        self.pieces.append(("\r\n--%s--\r\n" % boundary).encode("ascii"))
        self.length = sum(len(p) if isinstance(p, bytes) else os.path.getsize(p) for p in self.pieces)
        self.current = None

    def read(self, size=-1):
        size = CHUNK if size is None or size < 0 else size
        while self.pieces or self.current is not None:
            if self.current is None:
                piece = self.pieces.pop(0)
                self.current = io.BytesIO(piece) if isinstance(piece, bytes) else open(piece, "rb")
            data = self.current.read(size)
            if data:
                return data
            self.current.close()
            self.current = None
        return b""

    def close(self):
        if self.current is not None:
            self.current.close()
            self.current = None


def _header_text(text):
    return re.sub(r"[^A-Za-z0-9._+-]", "_", text) or "image"


class ImageService(LxdService):
    result_key = "image"
    options = {
        "fingerprint": Opt(parse=fingerprint),
        "aliases": Opt(type="list", elements="str", parse=aliases),
        "source": Opt(type="dict", options=SOURCE),
        "properties": Opt(type="dict", parse=objects.text_map),
        "public": Opt(type="bool"),
        "refresh": Opt(type="bool", default=False),
        "state": state_opt(["present", "absent"]),
    }

    # ------------------------------------------------------------ desired
    def desired(self):
        desired = super().desired()
        source = self._source(desired["source"])
        desired["source"] = source
        kind = source["kind"] if source else None
        if kind in ("files", "tarball"):
            digest = file_digest(source["paths"])
            if desired["fingerprint"] and not digest.startswith(desired["fingerprint"]):
                raise InputError("fingerprint", "%s does not match the source files, whose fingerprint is %s"
                                 % (desired["fingerprint"], digest))
            desired["fingerprint"] = digest
        if kind == "instance":
            if desired["fingerprint"]:
                raise InputError("fingerprint", "a published image gets its fingerprint when it is made; find it by "
                                                "its aliases instead")
            if not desired["aliases"]:
                raise InputError("aliases", "give the alias of the published image: the first alias finds it again "
                                            "on the next run")
        elif desired["refresh"]:
            raise InputError("refresh", "republishes an instance: give source.instance")
        if not (desired["fingerprint"] or desired["aliases"]):
            raise InputError("aliases", "name the image: give its aliases, fingerprint or source files")
        return desired

    @staticmethod
    def _source(source):
        """The source of a new image: files (split image), tarball (unified), or instance, checked."""
        if not source or not any(v is not None for v in source.values()):
            return None
        given = {k for k, v in source.items() if v is not None}
        for one, other in (("tarball", "metadata"), ("tarball", "rootfs"), ("tarball", "instance"),
                           ("metadata", "instance"), ("rootfs", "instance")):
            if one in given and other in given:
                raise InputError("source.%s" % other, "give either source.%s or source.%s, not both" % (one, other))
        if "snapshot" in given and "instance" not in given:
            raise InputError("source.snapshot", "is a snapshot of source.instance: give the instance too")
        if given & {"metadata", "rootfs"} and given & {"metadata", "rootfs"} != {"metadata", "rootfs"}:
            missing = ({"metadata", "rootfs"} - given).pop()
            raise InputError("source.%s" % missing, "a split image is two files: give source.metadata and "
                                                    "source.rootfs (or source.tarball for a unified image)")
        if "instance" in given:
            out = {"kind": "instance", "instance": source["instance"], "snapshot": source["snapshot"]}
            objects.name(out["instance"], "source.instance", "instance")
            objects.name(out["snapshot"], "source.snapshot", "snapshot")
            return out
        fields = ("tarball",) if "tarball" in given else ("metadata", "rootfs")
        for field in fields:
            path = source[field]
            if not os.path.isfile(path) or not os.access(path, os.R_OK):
                raise InputError("source.%s" % field, "%s: no such readable file" % path)
        if fields == ("tarball",):
            info = read_image_file(source["tarball"], "source.tarball", unified=True)
            return {"kind": "tarball", "paths": [source["tarball"]], **info}
        info = read_image_file(source["metadata"], "source.metadata")
        with open(source["rootfs"], "rb") as handle:
            info["type"] = "virtual-machine" if handle.read(4) == QCOW2 else "container"
        return {"kind": "files", "paths": [source["metadata"], source["rootfs"]], **info}

    # ------------------------------------------------------------ observe / resolve
    def observe(self, desired, batch=None):
        if desired["fingerprint"]:
            image = self.lxd.get(name_path("images", desired["fingerprint"]))
        else:
            target = self.lxd.get(name_path("images/aliases", desired["aliases"][0]))
            image = target and self.lxd.get(name_path("images", target["target"]))
        return None if image is None else self.state(image)

    @staticmethod
    def state(image):
        return {"fingerprint": image["fingerprint"], "aliases": sorted(a["name"] for a in image.get("aliases") or []),
                "properties": dict(image.get("properties") or {}), "public": bool(image.get("public")),
                "architecture": image.get("architecture"), "type": image.get("type"), "size": image.get("size")}

    def resolve(self, desired, observed, batch=None):
        """Where the task's aliases point now, the aliases of the images they point at, and what a
        publish needs: the instance (stopped) or its snapshot, its metadata."""
        if desired["state"] == "absent":
            return desired
        source = desired["source"]
        if observed is None and source is None:
            if desired["fingerprint"]:
                raise InputError("fingerprint", "LXD has no image %s, and no source is given to make it from"
                                 % desired["fingerprint"])
            raise InputError("aliases", "LXD has no image under alias %s, and no source is given to make it from"
                             % desired["aliases"][0])
        targets, others = {}, {}
        for name in desired["aliases"] or []:
            target = self.lxd.get(name_path("images/aliases", name))
            targets[name] = target and target["target"]
            if targets[name] and targets[name] not in others:
                other = self.lxd.get(name_path("images", targets[name])) or {}
                others[targets[name]] = sorted(a["name"] for a in other.get("aliases") or [])
        publish = None
        if source and source["kind"] == "instance" and (observed is None or desired["refresh"]):
            publish = self._publishable(source, desired["properties"])
        return {**desired, "targets": targets, "others": others, "publish": publish}

    def _publishable(self, source, properties):
        name, snapshot = source["instance"], source["snapshot"]
        instance = self.lxd.get(name_path("instances", name))
        if instance is None:
            raise InputError("source.instance", "LXD has no instance %s to publish" % name)
        if snapshot is not None:
            if self.lxd.get("%s/snapshots/%s" % (name_path("instances", name), quote(snapshot, safe=""))) is None:
                raise InputError("source.snapshot", "instance %s has no snapshot %s" % (name, snapshot))
        elif instance.get("status") != "Stopped":
            raise InputError("source.instance", "instance %s is %s: LXD publishes a stopped instance only; stop it "
                                                "first, or publish a snapshot of it (source.snapshot)"
                             % (name, (instance.get("status") or "not stopped").lower()))
        meta = self.lxd.get(name_path("instances", name) + "/metadata") or {}
        return {"source": {"type": "snapshot", "name": "%s/%s" % (name, snapshot)} if snapshot else
                {"type": "instance", "name": name},
                "label": "snapshot %s/%s" % (name, snapshot) if snapshot else "instance %s" % name,
                "architecture": instance.get("architecture"), "type": instance.get("type"),
                "properties": objects.merged(meta.get("properties"), properties)}

    # ------------------------------------------------------------ plan
    def plan(self, desired, observed):
        if desired["state"] == "absent":
            return Plan.removal(observed, "delete image %s" % short((observed or {}).get("fingerprint")),
                                lambda: self._delete(observed["fingerprint"]))
        holder = {"fingerprint": None}  # the image the steps work on: known, or made by the first step
        plan = Plan(observed)
        base = observed
        if observed is None or desired["publish"]:
            base = self._make(plan, desired, holder)
        else:
            holder["fingerprint"] = observed["fingerprint"]
        after = dict(base)
        moved = self._aliases(plan, desired, base, holder, after)
        self._update(plan, desired, base, holder, after)
        # an image that lost its last alias to this one (the template a refresh replaces) goes
        for other, names in sorted(desired["others"].items()):
            if other != base["fingerprint"] and names and set(names) <= moved:
                plan.step("delete image %s (its last alias moved)" % short(other), lambda o=other: self._delete(o))
        plan.after = after
        return plan

    def _make(self, plan, desired, holder):
        """The step that imports or publishes the image, and the image it makes."""
        source, publish = desired["source"], desired["publish"]
        if publish:
            new = {"fingerprint": None, "aliases": [], "properties": publish["properties"],
                   "public": bool(desired["public"]), "architecture": publish["architecture"],
                   "type": publish["type"], "size": None}
            body = {"source": publish["source"], "properties": new["properties"], "public": new["public"]}
            plan.step("publish %s as an image" % publish["label"], lambda: self._publish(body, publish["label"], holder),
                      undo=lambda: holder["fingerprint"] and self._delete(holder["fingerprint"]))
            return new
        fp = holder["fingerprint"] = desired["fingerprint"]
        new = {"fingerprint": fp, "aliases": [], "properties": dict(source["properties"]), "public": False,
               "architecture": source["architecture"], "type": source["type"],
               "size": sum(os.path.getsize(p) for p in source["paths"])}
        plan.step("import image %s from %s" % (short(fp), " + ".join(os.path.basename(p) for p in source["paths"])),
                  lambda: self._upload(source, fp), undo=lambda: self._delete(fp))
        return new

    def _aliases(self, plan, desired, base, holder, after):
        """Steps that give the image exactly the task's aliases; returns the aliases moved from other images."""
        moved = set()
        if desired["aliases"] is None:
            return moved
        for name in desired["aliases"]:
            if name in base["aliases"]:
                continue
            old = desired["targets"].get(name)
            if old and old != base["fingerprint"]:
                moved.add(name)
                plan.step("move alias %s from image %s" % (name, short(old)),
                          lambda n=name: self._move(n, holder["fingerprint"]),
                          undo=lambda n=name, o=old: self._move(n, o))
            elif not old:
                plan.step("create alias %s" % name,
                          lambda n=name: self._alias("POST", None, {"name": n, "target": holder["fingerprint"]}),
                          undo=lambda n=name: self._alias("DELETE", n))
        for name in base["aliases"]:
            if name not in desired["aliases"]:
                plan.step("remove alias %s" % name, lambda n=name: self._alias("DELETE", n),
                          undo=lambda n=name: self._alias("POST", None, {"name": n, "target": holder["fingerprint"]}))
        after["aliases"] = sorted(desired["aliases"])
        return moved

    def _update(self, plan, desired, base, holder, after):
        """The step that sets the task's properties and `public` in place."""
        properties = objects.merged(base["properties"], desired["properties"])
        public = base["public"] if desired["public"] is None else desired["public"]
        parts = [key for key, old, new in (("properties", base["properties"], properties),
                                           ("public", base["public"], public)) if old != new]
        if parts:
            plan.step("update image %s: %s" % (short(base["fingerprint"]), ", ".join(parts)),
                      lambda: self._put(holder["fingerprint"], properties, public),
                      undo=lambda: self._put(holder["fingerprint"], base["properties"], base["public"]))
        after.update(properties=properties, public=public)

    # ------------------------------------------------------------ steps
    def _upload(self, source, expected):
        if source["kind"] == "tarball":
            body = open(source["paths"][0], "rb")  # pylint: disable=consider-using-with
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(os.path.getsize(source["paths"][0])),
                       "X-LXD-filename": _header_text(os.path.basename(source["paths"][0]))}
        else:
            body = Multipart([("metadata", source["paths"][0]),
                              ("rootfs.img" if source["type"] == "virtual-machine" else "rootfs", source["paths"][1])])
            headers = {"Content-Type": body.content_type, "Content-Length": str(body.length)}
        headers["X-LXD-fingerprint"] = expected
        self.lxd.close()  # a fresh connection: an upload cannot be sent again on a reconnect
        try:
            result = self.lxd.call("POST", "/1.0/images", body=body, headers=headers, what="import image %s" % short(expected))
        finally:
            body.close()
        got = (result or {}).get("fingerprint")
        if got and got != expected:
            raise BackendError("LXD imported the image as %s, not %s as its files hash to" % (got, expected))

    def _publish(self, body, label, holder):
        result = self.lxd.call("POST", "/1.0/images", body=body, what="publish %s" % label)
        holder["fingerprint"] = (result or {}).get("fingerprint")
        if not holder["fingerprint"]:
            raise BackendError("LXD published %s but did not say the image's fingerprint" % label)

    def _alias(self, method, name, body=None):
        path = "/1.0/images/aliases" if name is None else name_path("images/aliases", name)
        self.lxd.call(method, path, body=body, what="%s image alias %s" % (method.lower(), name or body["name"]))

    def _move(self, name, fp):
        """Point an alias at another image, its description kept (a PUT: LXD 5.0's PATCH of an
        alias hangs until its database deadline)."""
        path = name_path("images/aliases", name)
        description = (self.lxd.get(path) or {}).get("description") or ""
        self.lxd.call("PUT", path, body={"target": fp, "description": description}, what="move image alias %s" % name)

    def _put(self, fp, properties, public):
        path = name_path("images", fp)
        image = self.lxd.get(path) or {}
        body = {key: image.get(key) for key in ("auto_update", "expires_at", "profiles")}
        body.update(properties=properties, public=public)
        self.lxd.call("PUT", path, body=body, what="update image %s" % short(fp))

    def _delete(self, fp):
        self.lxd.call("DELETE", name_path("images", fp), what="delete image %s" % short(fp))
