# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Docker images: pull, build from a context, import a rootfs tar, load a saved tar, remove.

Idempotence without guessing: a built or imported image carries a label with the digest of
everything it was made from (context files, Dockerfile, build args, target / tar + changes), so an
unchanged source is never rebuilt and a changed one always is. A loaded tar is compared through
the image ID recorded in its manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tarfile

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Plan, name_opt, state_opt
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError
from ansible_collections.virtcloud.core.plugins.module_utils.docker import names
from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import (
    MANAGED_LABEL,
    MANAGED_VALUE,
    APIError,
    DockerService,
    NotFound,
)

DIGEST_LABEL = "io.virtcloud.source-digest"


def split_name(name, option="name"):
    """'repo[:tag]' -> (repo, tag); the tag defaults to 'latest' as in the docker CLI."""
    names.image(name, option, allow_id=False)
    if "@" in name:
        return name, None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "latest"


def registry_of(name):
    """Registry host of a reference, as docker resolves it (the first component when it looks like a host)."""
    first, sep, dummy = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "https://index.docker.io/v1/"


def digest_tree(path, extra):
    """sha256 over every file of a build context (path, mode, bytes) plus the build settings."""
    h = hashlib.sha256(json.dumps(extra, sort_keys=True).encode())
    for top, dirs, files in os.walk(path):
        dirs.sort()
        for fname in sorted(files):
            full = os.path.join(top, fname)
            rel = os.path.relpath(full, path)
            st = os.lstat(full)
            h.update(("\0%s\0%o\0" % (rel, stat.S_IMODE(st.st_mode))).encode())
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(full).encode())
            else:
                with open(full, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
    return "sha256:" + h.hexdigest()


def digest_file(path, extra):
    h = hashlib.sha256(json.dumps(extra, sort_keys=True).encode())
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def saved_image_id(path, ref):
    """Image ID of `ref` (or the only image) in a `docker save` tar, read from its manifest."""
    with tarfile.open(path) as tar:
        try:
            manifest = json.load(tar.extractfile("manifest.json"))
        except (KeyError, TypeError, ValueError):
            raise InputError("load_from", "%s is not a 'docker save' archive (no manifest.json)" % path)
    entries = [m for m in manifest if ref in (m.get("RepoTags") or [])] or manifest[:1]
    if not entries:
        raise InputError("load_from", "%s holds no image" % path)
    config = entries[0]["Config"]
    return "sha256:" + os.path.basename(config).replace(".json", "")


class ImageService(DockerService):
    result_key = "image"
    options = {
        "name": name_opt(),
        "state": state_opt(["present", "absent"]),
        "pull": Opt(default="missing", choices=["missing", "always", "never"]),
        "build": Opt(type="dict", options={
            "path": Opt(type="path", required=True),
            "dockerfile": Opt(default="Dockerfile"),
            "args": Opt(type="dict"),
            "target": Opt(),
        }),
        "import_from": Opt(type="path"),
        "changes": Opt(type="list", elements="str"),
        "load_from": Opt(type="path"),
        "force": Opt(type="bool", default=False),
        "tags": Opt(type="list", elements="str"),
        "push": Opt(type="bool", default=False),
        "username": Opt(),
        "password": Opt(no_log=True),
        "registry": Opt(),
    }
    module_kwargs = {"mutually_exclusive": [("build", "import_from", "load_from")],
                     "required_by": {"changes": "import_from"},
                     "required_together": [("username", "password")]}

    def auth(self):
        """Credentials for this pull / push only (nothing is written to a docker config file)."""
        p = self.params
        if not p["username"]:
            return None
        return {"username": p["username"], "password": p["password"],
                "serveraddress": p["registry"] or registry_of(p["name"])}

    def desired(self):
        p = self.params
        if p["state"] == "absent" and names.image(p["name"], "name") and names.image_id(p["name"]):
            repo, tag = p["name"], None  # an image ID: removed as such
        else:
            repo, tag = split_name(p["name"])
        desired = {"name": p["name"], "repo": repo, "tag": tag, "state": p["state"], "source": "pull",
                   "tags": [split_name(t, "tags") for t in p["tags"] or []]}
        if p["state"] == "absent":
            return desired
        if p["build"]:
            build = p["build"]
            if not os.path.isdir(build["path"]):
                raise InputError("build.path", "%s is not a directory on the managed host" % build["path"])
            dockerfile = os.path.join(build["path"], build["dockerfile"])
            if not os.path.isfile(dockerfile):
                raise InputError("build.dockerfile", "%s does not exist" % dockerfile)
            args = {k: str(v) for k, v in (build["args"] or {}).items()}
            desired.update(source="build", build_args=args, digest=digest_tree(build["path"], {
                "dockerfile": build["dockerfile"], "args": args, "target": build["target"]}))
        elif p["import_from"]:
            if not os.path.isfile(p["import_from"]):
                raise InputError("import_from", "%s is not a file on the managed host" % p["import_from"])
            desired.update(source="import", digest=digest_file(p["import_from"], {"changes": p["changes"]}))
        elif p["load_from"]:
            if not os.path.isfile(p["load_from"]):
                raise InputError("load_from", "%s is not a file on the managed host" % p["load_from"])
            desired.update(source="load", image_id=saved_image_id(p["load_from"], p["name"]))
        return desired

    def observe(self, desired, batch=None):
        info = self.inspect("image", desired["name"])
        if info is None:
            return None
        labels = (info.get("Config") or {}).get("Labels") or {}
        return {
            "id": info["Id"],
            "name": desired["name"],
            "tags": sorted(info.get("RepoTags") or []),
            "digest": labels.get(DIGEST_LABEL),
            "created": info.get("Created"),
            "size": info.get("Size"),
            "labels": labels,
        }

    def plan(self, desired, observed):
        plan = self._plan_source(desired, observed)
        if desired["state"] == "absent":
            return plan
        name = desired["name"]
        tags = (plan.after or {}).get("tags") or []
        new_image = bool(plan.steps)
        for repo, tag in desired["tags"]:
            ref = "%s:%s" % (repo, tag) if tag else repo
            if ref not in tags or new_image:  # a new image needs its extra tags again
                plan.step("tag image %s as %s" % (name, ref),
                          lambda repo=repo, tag=tag: self.api.tag(name, repo, tag, force=True))
                tags = sorted(set(tags) | {ref})
        if plan.after is not None:
            plan.after["tags"] = tags
        if self.params["push"]:
            refs = [name] + ["%s:%s" % rt if rt[1] else rt[0] for rt in desired["tags"]]
            local = self._repo_digests(name) if observed is not None else []
            for ref in refs:
                # a registry that does not know the image answers 'not found'; unreachable is an error
                try:
                    remote = self.api.inspect_distribution(ref, auth_config=self.auth())["Descriptor"]["digest"]
                except NotFound:
                    remote = None
                except APIError as exc:
                    raise BackendError("push: cannot reach the registry of %s: %s" % (ref, exc.explanation or exc))
                if plan.steps or remote not in local:
                    plan.step("push image %s" % ref, lambda ref=ref: self._push(ref))
        return plan

    def _plan_source(self, desired, observed):
        name = desired["name"]
        if desired["state"] == "absent":
            return Plan.removal(observed, "remove image %s" % name,
                                lambda: self.api.remove_image(name, force=self.params["force"]))
        plan = Plan(observed)

        source = desired["source"]
        if source == "pull":
            if observed is not None and self.params["pull"] != "always":
                return plan
            if observed is None and self.params["pull"] == "never":
                raise InputError("pull", "image %s is not present and pull=never" % name)
            if observed is not None and self._registry_digest(desired) in self._repo_digests(name):
                return plan
            plan.step("pull image %s" % name, lambda: self._pull(desired))
        elif source == "load":
            if observed is not None and observed["id"] == desired["image_id"] and not self.params["force"]:
                return plan
            plan.step("load image %s from %s" % (name, self.params["load_from"]), self._load)
        else:
            if observed is not None and observed["digest"] == desired["digest"] and not self.params["force"]:
                return plan
            verb = "build image %s from %s" % (name, self.params["build"]["path"]) if source == "build" \
                else "import image %s from %s" % (name, self.params["import_from"])
            plan.step(verb, lambda: (self._build if source == "build" else self._import)(desired))
        plan.after = dict(observed or {"name": name, "tags": [name]}, id=desired.get("image_id"),
                          digest=desired.get("digest"), created=None, size=None)
        return plan

    # ------------------------------------------------------------ apply
    def _repo_digests(self, name):
        return [d.split("@", 1)[-1] for d in (self.inspect("image", name) or {}).get("RepoDigests") or []]

    def _registry_digest(self, desired):
        return self.api.inspect_distribution(desired["name"], auth_config=self.auth())["Descriptor"]["digest"]

    def _pull(self, desired):
        self._stream(self.api.pull(desired["repo"], tag=desired["tag"], stream=True, decode=True,
                                   auth_config=self.auth()))

    def _push(self, ref):
        repo, tag = split_name(ref)
        self._stream(self.api.push(repo, tag=tag, stream=True, decode=True, auth_config=self.auth()))

    def _build(self, desired):
        build = self.params["build"]
        labels = {DIGEST_LABEL: desired["digest"], MANAGED_LABEL: MANAGED_VALUE}
        self._stream(self.api.build(path=build["path"], dockerfile=build["dockerfile"], tag=desired["name"],
                                    buildargs=desired["build_args"], target=build["target"], labels=labels,
                                    rm=True, forcerm=True, decode=True))

    def _import(self, desired):
        changes = list(self.params["changes"] or [])
        changes.append('LABEL %s="%s" %s="%s"' % (DIGEST_LABEL, desired["digest"], MANAGED_LABEL, MANAGED_VALUE))
        out = self.api.import_image(src=self.params["import_from"], repository=desired["repo"],
                                    tag=desired["tag"], changes=changes)
        self._stream(json.loads(line) for line in str(out).splitlines() if line.strip().startswith("{"))

    def _load(self):
        with open(self.params["load_from"], "rb") as f:
            self._stream(self.api.load_image(f))
        if self.inspect("image", self.params["name"]) is None:
            raise BackendError("%s loaded, but it holds no image named %s"
                               % (self.params["load_from"], self.params["name"]))

    @staticmethod
    def _stream(events):
        """Consume a docker progress stream; its 'error' events become one BackendError."""
        tail = []
        for event in events or []:
            if "error" in event:
                raise BackendError("%s\n%s" % (event["error"].strip(), "".join(tail[-15:])))
            if event.get("stream"):
                tail.append(event["stream"])
        return tail
