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
import re
import stat
import tarfile
import tempfile

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


def split_name(name, option="name", default_tag="latest"):
    """'repo[:tag]' -> (repo, tag); the tag defaults to 'latest' as in the docker CLI. A digest
    reference 'repo@sha256:...' -> (reference, None)."""
    names.image(name, option, allow_id=False)
    if "@" in name:
        return name, None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, default_tag


def split_tag(name, option, default_tag="latest"):
    """A reference to tag an image as: 'repo[:tag]', never a digest."""
    repo, tag = split_name(name, option, default_tag)
    if tag is None:
        raise InputError(option, "%r is a digest reference; an image is tagged as repo[:tag]" % name)
    return repo, tag


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


_CONFIG = re.compile(r"(?:blobs/sha256/)?([0-9a-f]{64})(?:\.json)?")
_MANIFEST_MAX = 16 << 20  # bytes; a real manifest.json is a few hundred


def archive_images(path, option):
    """[(image ID, [repo tags])] of a `docker save` archive, read from its manifest.json (the
    legacy layout, `<id>.json` configs, and the OCI layout of Docker 25+, `blobs/sha256/<id>`).
    Nothing is extracted; anything else is an InputError naming `option`."""
    what = "%s is not a 'docker save' archive" % path
    try:
        with tarfile.open(path) as tar:
            try:
                member = tar.getmember("manifest.json")
            except KeyError:
                raise InputError(option, "%s: it has no manifest.json" % what)
            if not member.isfile() or member.size > _MANIFEST_MAX:
                raise InputError(option, "%s: its manifest.json is not a file of at most %d bytes"
                                 % (what, _MANIFEST_MAX))
            raw = tar.extractfile(member).read()
    except (tarfile.TarError, EOFError) as exc:
        raise InputError(option, "%s (%s)" % (what, exc))
    except OSError as exc:
        raise InputError(option, "cannot read %s: %s" % (path, exc.strerror or exc))
    try:
        manifest = json.loads(raw)
    except ValueError as exc:
        raise InputError(option, "%s: its manifest.json is not valid JSON (%s)" % (what, exc))
    if not isinstance(manifest, list) or not all(isinstance(entry, dict) for entry in manifest):
        raise InputError(option, "%s: its manifest.json is not a list of images" % what)
    images = []
    for entry in manifest:
        config, tags = entry.get("Config"), entry.get("RepoTags") or []
        match = _CONFIG.fullmatch(config) if isinstance(config, str) else None
        if match is None:
            raise InputError(option, "%s: its manifest.json names %r as an image's config, not <sha256 hex>.json "
                                     "or blobs/sha256/<sha256 hex>" % (what, config))
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise InputError(option, "%s: the RepoTags of its manifest.json are not a list of references" % what)
        images.append(("sha256:" + match.group(1), tags))
    if not images:
        raise InputError(option, "%s holds no image" % path)
    return images


def saved_image(path, ref):
    """(image ID, its tags in the archive) of `ref` in a `docker save` archive: the image tagged
    `ref`, or the archive's only image (then tagged `ref` once loaded)."""
    images = archive_images(path, "load_from")
    found = [image for image in images if ref in image[1]] or (images if len({i for i, t in images}) == 1 else [])
    if not found:
        raise InputError("load_from", "%s holds %d images and none is tagged %s" % (path, len(images), ref))
    image_id = found[0][0]
    return image_id, sorted({tag for i, tags in images if i == image_id for tag in tags})


def archived_id(path, ref, image_id):
    """ID of the image the archive at `path` holds as `ref` (a digest reference: `image_id` if the
    archive holds it); None when there is no such file, image or archive (it is then written anew)."""
    if not os.path.isfile(path):
        return None
    try:
        images = archive_images(path, "archive_path")
    except InputError:
        return None
    if ref is None:
        return image_id if any(i == image_id for i, tags in images) else None
    return next((i for i, tags in images if ref in tags), None)


_PLATFORM = re.compile(r"[a-z0-9_-]+(?:/[a-z0-9_-]+(?:/[a-z0-9_.-]+)?)?")
_ARCH_ALIASES = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64"}


def parse_platform(value, option):
    """'os[/arch[/variant]]' in lower case, with the usual aliases of the architecture resolved."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _PLATFORM.fullmatch(text):
        raise InputError(option, "%r is not a platform: use os[/arch[/variant]], e.g. linux/amd64 or linux/arm/v7"
                         % (value,))
    parts = text.split("/")
    if len(parts) > 1:
        parts[1] = _ARCH_ALIASES.get(parts[1], parts[1])
    return "/".join(parts)


def platform_of(info):
    return "/".join(part for part in (info.get("Os"), info.get("Architecture"), info.get("Variant")) if part)


def platform_matches(want, have):
    """Whether an image of platform `have` is one of `want` (which may leave out arch and variant)."""
    if not want:
        return True
    have = (have or "").split("/")
    return want.split("/") == have[:len(want.split("/"))]


def reference(repo, tag):
    return "%s:%s" % (repo, tag) if tag else repo


class ImageService(DockerService):
    result_key = "image"
    options = {
        "name": name_opt(),
        "state": state_opt(["present", "absent"]),
        "pull": Opt(default="missing", choices=["missing", "always", "never"]),
        "platform": Opt(parse=parse_platform),
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
        "repository": Opt(),
        "archive_path": Opt(type="path"),
        "push": Opt(type="bool", default=False),
        "username": Opt(),
        "password": Opt(no_log=True),
        "registry": Opt(),
    }
    module_kwargs = {"mutually_exclusive": [("build", "import_from", "load_from"),
                                            ("platform", "import_from"), ("platform", "load_from")],
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
        p = self.parsed()
        if p["state"] == "absent" and names.image(p["name"], "name") and names.image_id(p["name"]):
            repo, tag = p["name"], None  # an image ID: removed as such
        else:
            repo, tag = split_name(p["name"])
        extra = [split_tag(t, "tags") for t in p["tags"] or []]
        if p["repository"] is not None:  # one more tag; without its own tag it takes the tag of name
            extra.append(split_tag(p["repository"], "repository", tag or "latest"))
        desired = {"name": p["name"], "repo": repo, "tag": tag, "ref": reference(repo, tag), "state": p["state"],
                   "source": "pull", "platform": p["platform"], "tags": extra, "archive_path": p["archive_path"]}
        if p["state"] == "absent":
            if p["archive_path"] is not None:
                raise InputError("archive_path", "saves the image, so it needs state=present")
            return desired
        if p["archive_path"] is not None:
            folder = os.path.dirname(os.path.abspath(p["archive_path"]))
            if os.path.isdir(p["archive_path"]):
                raise InputError("archive_path", "%s is a directory; give the archive's file name" % p["archive_path"])
            if not os.path.isdir(folder):
                raise InputError("archive_path", "the directory %s does not exist on the managed host" % folder)
        if p["build"]:
            build = p["build"]
            if not os.path.isdir(build["path"]):
                raise InputError("build.path", "%s is not a directory on the managed host" % build["path"])
            dockerfile = os.path.join(build["path"], build["dockerfile"])
            if not os.path.isfile(dockerfile):
                raise InputError("build.dockerfile", "%s does not exist" % dockerfile)
            args = {k: str(v) for k, v in (build["args"] or {}).items()}
            settings = {"dockerfile": build["dockerfile"], "args": args, "target": build["target"]}
            if p["platform"]:  # only when set: the digests of images built without it stay the same
                settings["platform"] = p["platform"]
            desired.update(source="build", build_args=args, digest=digest_tree(build["path"], settings))
        elif p["import_from"]:
            if not os.path.isfile(p["import_from"]):
                raise InputError("import_from", "%s is not a file on the managed host" % p["import_from"])
            desired.update(source="import", digest=digest_file(p["import_from"], {"changes": p["changes"]}))
        elif p["load_from"]:
            if not os.path.isfile(p["load_from"]):
                raise InputError("load_from", "%s is not a file on the managed host" % p["load_from"])
            image_id, archive_tags = saved_image(p["load_from"], desired["ref"])
            desired.update(source="load", image_id=image_id, archive_tags=archive_tags)
        return desired

    def observe(self, desired, batch=None):
        info = self.inspect("image", desired["name"])
        if info is None:
            return None
        labels = (info.get("Config") or {}).get("Labels") or {}
        state = {
            "id": info["Id"],
            "name": desired["name"],
            "tags": sorted(info.get("RepoTags") or []),
            "digest": labels.get(DIGEST_LABEL),
            "platform": platform_of(info),
            "created": info.get("Created"),
            "size": info.get("Size"),
            "labels": labels,
        }
        if desired.get("archive_path"):
            state["archive"] = self._archive(desired, info["Id"])
        return state

    def resolve(self, desired, observed, batch=None):
        """A load: the tags the archive's image already has on the host (a reload keeps them)."""
        if desired["state"] != "present" or desired["source"] != "load":
            return desired
        info = self.inspect("image", desired["image_id"]) or {}
        return dict(desired, host_tags=info.get("RepoTags") or [])

    def plan(self, desired, observed):
        plan = self._plan_source(desired, observed)
        if desired["state"] == "absent":
            return plan
        name, after = desired["name"], plan.after
        for repo, tag in desired["tags"]:
            ref = reference(repo, tag)
            if ref not in after["tags"]:
                plan.step("tag image %s as %s" % (name, ref),
                          lambda repo=repo, tag=tag: self.api.tag(name, repo, tag, force=True))
                after["tags"] = sorted(set(after["tags"]) | {ref})
        if after["id"] is None:
            # a build, import or pull may give an image that exists already, under more tags
            after["tags"] = None
        if desired["archive_path"]:
            if plan.steps or observed["archive"]["id"] != observed["id"]:
                # a forced rebuild may give the same image: the step looks again before it writes
                plan.step("save image %s to %s" % (name, desired["archive_path"]), lambda: self._save(desired))
            after["archive"] = {"path": desired["archive_path"], "id": after["id"]}
        # what the steps did shows in these keys: a forced rebuild that gives the same image changes nothing
        plan.outcome = ("id", "tags", "digest", "archive")
        if self.params["push"]:
            refs = [name] + [reference(repo, tag) for repo, tag in desired["tags"]]
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
                    plan.outcome = None  # the registry is not observed: a push is a change
        return plan

    def _plan_source(self, desired, observed):
        name = desired["name"]
        if desired["state"] == "absent":
            return Plan.removal(observed, "remove image %s" % name,
                                lambda: self.api.remove_image(name, force=self.params["force"]))
        plan = Plan(observed)

        source, force = desired["source"], self.params["force"]
        if source == "pull":
            platform = desired["platform"]
            present = observed is not None and platform_matches(platform, observed["platform"])
            if present and self.params["pull"] != "always":
                return plan
            if not present and self.params["pull"] == "never":
                raise InputError("pull", "image %s is not present%s and pull=never"
                                 % (name, " for platform %s" % platform if observed is not None else ""))
            if present and self._registry_digest(desired) in self._repo_digests(name):
                return plan
            plan.step("pull image %s%s" % (name, " for %s" % platform if platform else ""),
                      lambda: self._pull(desired))
        elif source == "load":
            if observed is not None and observed["id"] == desired["image_id"] and not force:
                return plan
            plan.step("load image %s from %s" % (name, self.params["load_from"]), lambda: self._load(desired))
        else:
            if observed is not None and observed["digest"] == desired["digest"] and not force:
                return plan
            verb = "build image %s from %s" % (name, self.params["build"]["path"]) if source == "build" \
                else "import image %s from %s" % (name, self.params["import_from"])
            plan.step(verb, lambda: (self._build if source == "build" else self._import)(desired))
        plan.after = self._predict(desired, observed)
        return plan

    @staticmethod
    def _predict(desired, observed):
        """The image once its source step ran. A load is known from the archive; a build, import or
        pull makes an image whose ID is known only afterwards (None: a change, also with force)."""
        image_id = desired.get("image_id")
        if observed is not None and image_id == observed["id"]:  # a forced reload of the same image
            return dict(observed, tags=sorted(set(observed["tags"]) | set(desired["archive_tags"]) | {desired["ref"]}))
        tags = {desired["ref"]}
        if image_id is not None:
            tags |= set(desired["host_tags"]) | set(desired["archive_tags"])
        return {"id": image_id, "name": desired["name"], "tags": sorted(tags), "digest": desired.get("digest"),
                "platform": desired["platform"] if desired["source"] == "pull" else None,
                "created": None, "size": None, "labels": None}

    @staticmethod
    def _archive(desired, image_id):
        """The archive at archive_path: which image it holds as `name` (None: none, or not an archive)."""
        path = desired["archive_path"]
        return {"path": path, "id": archived_id(path, desired["tag"] and desired["ref"], image_id)}

    # ------------------------------------------------------------ apply
    def _repo_digests(self, name):
        return [d.split("@", 1)[-1] for d in (self.inspect("image", name) or {}).get("RepoDigests") or []]

    def _registry_digest(self, desired):
        return self.api.inspect_distribution(desired["name"], auth_config=self.auth())["Descriptor"]["digest"]

    def _pull(self, desired):
        self._stream(self.api.pull(desired["repo"], tag=desired["tag"], stream=True, decode=True,
                                   auth_config=self.auth(), platform=desired["platform"]))

    def _push(self, ref):
        repo, tag = split_name(ref)
        self._stream(self.api.push(repo, tag=tag, stream=True, decode=True, auth_config=self.auth()))

    def _build(self, desired):
        build = self.params["build"]
        labels = {DIGEST_LABEL: desired["digest"], MANAGED_LABEL: MANAGED_VALUE}
        self._stream(self.api.build(path=build["path"], dockerfile=build["dockerfile"], tag=desired["name"],
                                    buildargs=desired["build_args"], target=build["target"], labels=labels,
                                    platform=desired["platform"], rm=True, forcerm=True, decode=True))

    def _import(self, desired):
        changes = list(self.params["changes"] or [])
        changes.append('LABEL %s="%s" %s="%s"' % (DIGEST_LABEL, desired["digest"], MANAGED_LABEL, MANAGED_VALUE))
        out = self.api.import_image(src=self.params["import_from"], repository=desired["repo"],
                                    tag=desired["tag"], changes=changes)
        self._stream(json.loads(line) for line in str(out).splitlines() if line.strip().startswith("{"))

    def _load(self, desired):
        with open(self.params["load_from"], "rb") as f:
            self._stream(self.api.load_image(f))
        if (self.inspect("image", desired["name"]) or {}).get("Id") != desired["image_id"]:
            self.api.tag(desired["image_id"], desired["repo"], desired["tag"], force=True)

    def _save(self, desired):
        """`docker save` of the image into archive_path: a temporary file in the same directory,
        renamed over the archive when complete (removed on failure). An archive that already holds
        the image is left alone."""
        path, ref = desired["archive_path"], desired["ref"]
        image_id = self.api.inspect_image(desired["name"])["Id"]
        if archived_id(path, desired["tag"] and ref, image_id) == image_id:
            return
        folder, base = os.path.split(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".%s." % base, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in self.api.get_image(ref if desired["tag"] else image_id):
                    out.write(chunk)
            if os.path.exists(path):
                os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))  # replaced: keeps its mode
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise

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
