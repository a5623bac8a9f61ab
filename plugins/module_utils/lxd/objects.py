# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the LXD object modules share: LXD's key/value maps (config, properties, devices) as the
user gives them, names checked before they reach LXD, who uses an object, and the one service of
an object that is made of a description and maps and is changed in place (profiles, networks).

Maps are managed key by key: a key the task names gets its value, a key named with the value null
is removed, keys the task does not name are kept. LXD holds every value as a string; a YAML
boolean is written as LXD writes it (true / false), an integer as its decimal text."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, unquote, urlsplit

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Change, Plan
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.lxd.client import LxdService, name_path

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# LXD's own rule for network names (an interface name): 2 to 15 of these characters
_NETWORK = re.compile(r"[-_a-zA-Z0-9.]{2,15}")


def value_text(value, option, key):
    """One value of an LXD map as LXD holds it: text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        raise InputError(option, "value of %r is the YAML number %r; quote it so that LXD gets the exact text you "
                                 "mean (e.g. \"1.10\")" % (key, value))
    raise InputError(option, "value of %r must be a string, number or boolean, got %r" % (key, value))


def text_map(mapping, option, removable=True):
    """A map of the task -> {key: text, or None where the task removes the key}; None stays None."""
    if mapping is None:
        return None
    out = {}
    for key, value in mapping.items():
        if not isinstance(key, str) or not key or _CONTROL.search(key):
            raise InputError(option, "%r is not a key LXD takes" % (key,))
        if value is None:
            if not removable:
                raise InputError(option, "value of %r is null; give its text" % key)
            out[key] = None
        else:
            out[key] = value_text(value, option, key)
    return out


def merged(have, want):
    """`have` with the keys `want` names set to its values, and those it names as None removed."""
    out = dict(have or {})
    for key, value in (want or {}).items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def name(value, option, what):
    """A profile (or other object) name LXD stores and the API and `lxc` CLI can address: not empty,
    not '.' or '..', no '/' and no control characters."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InputError(option, "give the %s name" % what)
    if value in (".", "..") or "/" in value or _CONTROL.search(value):
        raise InputError(option, "%r is not a %s name LXD takes: not '.' or '..', no '/' and no control characters"
                         % (value, what))
    return value


def network_name(value, option):
    """A network name: LXD makes a host interface of it, so 2 to 15 letters, digits, '-', '_' or '.'."""
    if value is None:
        return None
    if not isinstance(value, str) or not _NETWORK.fullmatch(value) or value == "..":
        raise InputError(option, "%r is not a network name LXD takes: it becomes a host interface name, so 2 to 15 "
                                 "letters, digits, '-', '_' or '.' (e.g. vctbr0)" % (value,))
    return value


def user(url):
    """'/1.0/instances/web?project=p' -> 'instance web (project p)'."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/")[2:] if s]
    if not segments:
        return url
    kind = segments[0][:-1] if segments[0].endswith("s") else segments[0]
    text = "%s %s" % (kind, "/".join(segments[1:]))
    project = parse_qs(parts.query).get("project")
    return text + (" (project %s)" % project[0] if project and project[0] != "default" else "")


def users(urls):
    return sorted(user(url) for url in urls or [])


class ObjectService(LxdService):
    """An LXD object of a description and key/value maps (`maps`), created, changed in place with
    one PUT, or removed, and refused to be removed while LXD lists users of it."""

    kind = None        # API collection, e.g. "profiles"
    what = None        # what the messages call it, e.g. "profile"
    maps = ("config",)

    def path(self, desired):
        return name_path(self.kind, desired["name"])

    def observe(self, desired, batch=None):
        info = self.lxd.get(self.path(desired))
        return None if info is None else self.state(info)

    def state(self, info):
        out = {"name": info["name"], "description": info.get("description") or "", "used_by": users(info.get("used_by"))}
        out.update((key, dict(info.get(key) or {})) for key in self.maps)
        return out

    def resolve(self, desired, observed, batch=None):
        if desired["state"] == "absent" and observed is not None and observed["used_by"]:
            raise InputError("state", "%s %s is in use by %s: take it off them first (LXD refuses to remove it)"
                             % (self.what, desired["name"], ", ".join(observed["used_by"])))
        return desired

    def created(self, desired):
        """The state of the object the task creates."""
        out = {"name": desired["name"], "description": desired["description"] or "", "used_by": []}
        out.update((key, merged({}, desired[key])) for key in self.maps)
        return out

    def create_body(self, after):
        return {"name": after["name"], **self.put_body(after)}

    def put_body(self, state):
        return {"description": state["description"], **{key: state[key] for key in self.maps}}

    def plan(self, desired, observed):
        what = "%s %s" % (self.what, desired["name"])
        path = self.path(desired)
        if desired["state"] == "absent":
            return Plan.removal(observed, "remove " + what, lambda: self.lxd.call("DELETE", path, what="remove " + what))
        if observed is None:
            plan = Plan(None, self.created(desired))
            body = self.create_body(plan.after)
            plan.step("create " + what, lambda: self.lxd.call("POST", "/1.0/" + self.kind, body=body, what="create " + what),
                      undo=lambda: self.lxd.call("DELETE", path, what="remove " + what))
            return plan
        plan = Plan(observed)
        parts = []
        for key in self.maps:
            after = merged(observed[key], desired[key])
            names = sorted(k for k in set(after) | set(observed[key]) if after.get(k) != observed[key].get(k))
            if names:
                parts.append("%s %s" % (key, ", ".join(names)))
                plan.changes.append(Change(key, observed[key], after, "live"))
                plan.after[key] = after
        if desired["description"] is not None and desired["description"] != observed["description"]:
            parts.append("description")
            plan.changes.append(Change("description", observed["description"], desired["description"], "live"))
            plan.after["description"] = desired["description"]
        if parts:
            body, old = self.put_body(plan.after), self.put_body(observed)
            plan.step("update %s: %s" % (what, "; ".join(parts)),
                      lambda: self.lxd.call("PUT", path, body=body, what="update " + what),
                      undo=lambda: self.lxd.call("PUT", path, body=old, what="restore " + what))
        return plan
