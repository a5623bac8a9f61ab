"""libvirt_snapshot's pure logic: ages, the order of snapshots, what a deletion leaves, what retention deletes."""

from __future__ import annotations

import time

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import InputError
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.snapshot import (
    SnapshotService,
    ordered,
    parse_age,
    without,
)


def snap(name, created, parent=None, current=False):
    return {"name": name, "created": created, "parent": parent, "current": current, "kind": "internal"}


@pytest.mark.parametrize("value, seconds", [(90, 90), ("90", 90), ("7d", 604800), ("12h", 43200),
                                            ("1w2d", 777600), ("30m 5s", 1805)])
def test_ages(value, seconds):
    assert parse_age(value, "max_age") == seconds


@pytest.mark.parametrize("value", ["", "7 days", "1y", "-5", "d"])
def test_bad_ages_name_the_option(value):
    with pytest.raises(InputError, match="^max_age: "):
        parse_age(value, "max_age")


def test_order_is_creation_time_then_parent_before_child_and_new_last():
    snaps = [snap("b", 10, "a"), snap("new", None, "b"), snap("a", 10), snap("c", 5)]
    assert [s["name"] for s in ordered(snaps)] == ["c", "a", "b", "new"]


def test_deleting_a_current_snapshot_reparents_and_moves_current():
    snaps = [snap("a", 1), snap("b", 2, "a", current=True), snap("c", 3, "b")]
    after = without(snaps, "b")
    assert after == [snap("a", 1, current=True), snap("c", 3, "a")]
    assert snaps[1]["current"] and snaps[2]["parent"] == "b"  # the input is left alone


@pytest.fixture
def prune(monkeypatch):
    """retention(...) over snapshots made `age` seconds before a fixed now."""
    now = 1000
    monkeypatch.setattr(time, "time", lambda: now)

    def run(observed_names, name=None, keep=None, max_age=None):
        snaps = [snap(n, now - age) for n, age in observed_names]
        existing = next((s for s in snaps if s["name"] == name), None)
        want = {"state": "present", "name": name, "keep": keep, "max_age": max_age}
        return SnapshotService.retention(want, {"snapshots": snaps, "snapshot": existing})
    return run


def test_keep_counts_the_new_snapshot_and_never_deletes_the_named_one(prune):
    old = [("s1", 30), ("s2", 20), ("s3", 10)]
    assert prune(old, name="s4", keep=2) == ["s1", "s2"]
    assert prune(old, keep=2) == ["s1"]
    assert prune(old, name="s1", keep=1) == ["s2"]


def test_max_age_deletes_only_older_ones(prune):
    assert prune([("s1", 30), ("s2", 20), ("s3", 10)], max_age=15) == ["s1", "s2"]
    assert prune([("s1", 30)], name="s2", max_age=0) == ["s1"]
