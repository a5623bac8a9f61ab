"""galaxy.yml says only what is true: one license field, no placeholder links, and every tag backed
by what the collection has."""

from __future__ import annotations

import glob
import os
import re

import yaml

from conftest import ROOT  # noqa: E402

GALAXY = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml")))
LINKS = ("repository", "documentation", "homepage", "issues")
# Tags that name what modules manage rather than a backend: the module prefixes that back them.
KINDS = {
    "infrastructure": ("",),  # Galaxy's category (ansible-lint's galaxy[tags] wants one): any module
    "virtualization": ("libvirt_", "ova_"),
    "containers": ("docker_", "lxd_", "lxc_"),
    "networking": ("host_",),
}


def _module_prefixed(prefix):
    return bool(glob.glob(os.path.join(ROOT, "plugins", "modules", prefix + "*.py")))


def _backed(tag):
    """A module prefix (docker_*), or a backend package under module_utils (lxd/, whose modules
    arrive with it), or a kind whose modules exist."""
    if tag in KINDS:
        return any(_module_prefixed(p) for p in KINDS[tag])
    return _module_prefixed(tag + "_") or os.path.isdir(os.path.join(ROOT, "plugins", "module_utils", tag))


def test_one_license_field():
    # ansible-galaxy: license and license_file are mutually exclusive
    assert ("license" in GALAXY) != ("license_file" in GALAXY)
    if "license_file" in GALAXY:
        assert os.path.isfile(os.path.join(ROOT, GALAXY["license_file"]))
    else:
        assert GALAXY["license"] and all(re.fullmatch(r"[A-Za-z0-9.+-]+", lic) for lic in GALAXY["license"])
        assert os.path.isfile(os.path.join(ROOT, "LICENSE"))


def test_links_are_real_or_absent():
    for key in LINKS:
        url = GALAXY.get(key)
        if url is None:
            continue
        assert url.startswith("https://"), (key, url)
        host = url.split("/")[2]
        assert not re.search(r"(^|\.)(example\.(invalid|com|org|net)|invalid|localhost|test)$", host), (key, url)


def test_every_tag_is_backed():
    tags = GALAXY["tags"]
    assert len(tags) <= 20 and len(set(tags)) == len(tags)
    assert all(re.fullmatch(r"[a-z0-9_]{1,64}", t) for t in tags), tags
    assert [t for t in tags if not _backed(t)] == []
