# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names of Docker objects, checked before anything is sent to dockerd.

The docker SDK puts a name into the API path as given: ``../volumes/victim`` as a volume name
addresses the volume ``victim``. Every name and image reference a module takes goes through
these checks first, so a name can only ever address the object it spells.

- containers and volumes: ``[a-zA-Z0-9][a-zA-Z0-9_.-]+`` (dockerd's own rule, two characters at
  least); networks the same, one character allowed;
- image references: Docker's reference grammar (``[registry[:port]/]path[:tag][@digest]``), or an
  image ID (``sha256:`` and 64 hex digits, or a short hex prefix).
"""

from __future__ import annotations

import re

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError

_OBJECT = {
    "container": re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+"),
    "volume": re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+"),
    "network": re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*"),
}

# github.com/distribution/reference, regexp.go
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REFERENCE = re.compile(r"(?:(?P<domain>%s)/)?(?P<path>%s(?:/%s)*)(?::(?P<tag>%s))?(?:@(?P<digest>%s))?"
                        % (_DOMAIN, _COMPONENT, _COMPONENT, _TAG, _DIGEST))
_IMAGE_ID = re.compile(r"(?:sha256:)?[0-9a-f]{12,64}")


def _text(value, option, what):
    if not isinstance(value, str):
        raise InputError(option, "%r is not a %s" % (value, what))
    if not value:
        raise InputError(option, "is empty; give the %s" % what)
    return value


def object_name(kind, value, option):
    """A container, volume or network name; None stays None (the option was not set)."""
    if value is None:
        return None
    _text(value, option, "%s name" % kind)
    if not _OBJECT[kind].fullmatch(value):
        least = "one character" if kind == "network" else "two characters"
        raise InputError(option, "%r is not a valid %s name: use letters, digits, '_', '.' and '-', "
                                 "starting with a letter or digit, %s at least (e.g. web-1)"
                         % (value, kind, least))
    return value


def container(value, option):
    return object_name("container", value, option)


def volume(value, option):
    return object_name("volume", value, option)


def network(value, option):
    return object_name("network", value, option)


def image_id(value):
    """Whether an image reference is an image ID rather than a name."""
    return bool(_IMAGE_ID.fullmatch(value))


def image(value, option, allow_id=True):
    """An image reference by Docker's grammar ('httpd:2.4', 'registry.local:5000/team/app@sha256:...'),
    or, where `allow_id`, an image ID."""
    if value is None:
        return None
    _text(value, option, "image reference")
    if allow_id and _IMAGE_ID.fullmatch(value):
        return value
    match = _REFERENCE.fullmatch(value)
    if match is None:
        raise InputError(option, "%r is not an image reference: use [registry[:port]/]name[:tag][@digest] with "
                                 "a lower-case name, e.g. httpd:2.4 or registry.local:5000/team/app:1.0"
                         % (value,))
    if len(match.group("path")) + len(match.group("domain") or "") > 255:
        raise InputError(option, "%r is longer than the 255 characters an image name may have" % (value,))
    return value
