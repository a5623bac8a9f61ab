"""The engine's batch helpers (execute_many, validate_items) on the fake backend of test_engine."""

from __future__ import annotations

import threading
import time

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import Batch, execute_many, validate_items
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError

# clean_store is test_engine's autouse fixture: importing it applies it here too
from test_engine import Store, clean_store, params  # noqa: F401 pylint: disable=unused-import


class Counted(Store):
    connects = 0
    observed_together = 0

    def connect(self):
        Counted.connects += 1

    def share_connection(self, other):
        pass  # reuse: no second connect

    @classmethod
    def read_batch(cls, service, desireds):
        cls.observed_together += 1
        return {name: dict(thing) for name, thing in cls.db.items()}

    def observe(self, desired, batch=None):
        assert batch is not None, "every item is observed from the batch read"
        return batch.get(desired["name"])


@pytest.fixture(autouse=True)
def counters():
    Counted.connects = Counted.observed_together = 0


def test_one_connection_one_observation_then_noop():
    specs = [params(name=n) for n in "abc"]
    first = execute_many(Batch(Counted, "things"), specs)
    assert first["changed"] and first["actions"] == ["create", "tag"] * 3
    # observed together before the changes, and the changed ones together again after them
    assert Counted.connects == 1 and Counted.observed_together == 2
    assert [r["thing"]["name"] for r in first["results"]] == ["a", "b", "c"]
    Counted.observed_together = 0
    again = execute_many(Batch(Counted, "things"), specs)
    assert again["changed"] is False and [r["changed"] for r in again["results"]] == [False] * 3
    assert Counted.observed_together == 1


def test_every_item_is_validated_before_anything_is_touched():
    with pytest.raises(InputError) as info:
        execute_many(Batch(Counted, "things"), [params(name="a"), params(name="b", size=-1)])
    assert info.value.msg.startswith("things[1].size:") and Store.writes == [] and Counted.connects == 0


def test_a_failing_item_rolls_back_itself_and_reports_the_done_ones():
    execute_many(Batch(Counted, "items"), [params(name="a")])
    Store.fail_on = "tag"
    with pytest.raises(BackendError) as info:
        execute_many(Batch(Counted, "things"), [params(name="a", size=2), params(name="b")])
    assert info.value.msg.startswith("things[1]: tag failed")
    assert [r["changed"] for r in info.value.details["results"]] == [True]
    assert "b" not in Store.db and Store.db["a"]["size"] == 2


def test_check_mode_changes_nothing():
    result = execute_many(Batch(Counted, "items"), [params(name="a"), params(name="b")], check_mode=True, diff=True)
    assert result["changed"] and Store.writes == [] and result["results"][0]["diff"]["before"] == {}


def test_validate_items_uses_the_single_object_argspec():
    items = validate_items(Store, [{"name": "a"}, {"name": "b", "size": "3"}], "things")
    assert items[0]["state"] == "present" and items[1]["size"] == 3
    for bad in ([{"size": 1}], [{"name": "a", "state": "gone"}], ["a"]):
        with pytest.raises(InputError) as info:
            validate_items(Store, bad, "things")
        assert info.value.option == "things[0]"


def test_empty_batch():
    assert execute_many(Batch(Counted, "items"), []) == {"changed": False, "actions": [], "results": []}


class Planned(Counted):
    def plan(self, desired, observed):
        if desired.get("size") == 13:
            raise InputError("size", "13 is unlucky")
        return super().plan(desired, observed)


def test_every_item_is_planned_before_anything_is_touched():
    with pytest.raises(InputError) as info:
        execute_many(Batch(Planned, "things"), [params(name="a"), params(name="b", size=13)])
    assert info.value.msg.startswith("things[1].size: 13 is unlucky")
    assert Store.writes == [] and info.value.details["results"] == []


class Parallel(Counted):
    """Items applied by worker threads; `create` waits a little so that they overlap."""

    batch_workers = 4
    running = 0
    most = 0
    lock = threading.Lock()

    def _write(self, op, name, desired=None):
        if op == "create":
            with Parallel.lock:
                Parallel.running += 1
                Parallel.most = max(Parallel.most, Parallel.running)
            time.sleep(0.05)
            with Parallel.lock:
                Parallel.running -= 1
        super()._write(op, name, desired)


def test_items_are_applied_concurrently_in_order_within_an_item():
    Parallel.most = 0
    specs = [params(name=n) for n in "abcdef"]
    result = execute_many(Batch(Parallel, "things"), specs)
    assert 1 < Parallel.most <= 4
    assert sorted(Store.db) == list("abcdef") and Store.writes.count("tag") == 6
    assert [r["thing"]["name"] for r in result["results"]] == list("abcdef")
    assert result["actions"] == ["create", "tag"] * 6  # reported in item order, whatever ran first


def test_after_a_concurrent_failure_no_further_item_starts():
    Store.fail_on = "tag"
    with pytest.raises(BackendError) as info:
        execute_many(Batch(Parallel, "things"), [params(name=n) for n in "abcdefghijkl"])
    assert info.value.msg.startswith("things[") and "tag failed" in info.value.msg
    assert Store.db == {}  # every started item rolled its create back
    assert Store.writes.count("create") < 12  # the rest were never started


class FailsOne(Parallel):
    """Item "c" fails at once; the others take a while."""

    def _write(self, op, name, desired=None):
        if name == "c":
            raise RuntimeError("c cannot be created")
        super()._write(op, name, desired)


def test_every_item_before_a_concurrent_failure_is_done_and_reported():
    with pytest.raises(BackendError) as info:
        execute_many(Batch(FailsOne, "things"), [params(name=n) for n in "abcdefgh"])
    assert info.value.msg.startswith("things[2]: create failed: translated: c cannot be created")
    assert [r["thing"]["name"] for r in info.value.details["results"]] == ["a", "b"]
    assert {"a", "b"} <= set(Store.db) and "c" not in Store.db
    assert not set(Store.db) & set("efgh")  # started after the failure: never


class Sized(Batch):
    """Task-level options through the hooks: every item gets the task's size, "z" is always
    removed first when the store has it, and items named "skip" are dropped."""

    def items(self, items):
        return [item for item in items if item["name"] != "skip"]

    def adjust(self, desired):
        return dict(desired, size=self.params["size"])

    def extra(self, batch, desireds):
        return [{"name": "z", "state": "absent"}] if Store.db.get("z") else []


def test_batch_hooks_rewrite_items_adjust_them_and_add_removals():
    execute_many(Batch(Counted, "things"), [params(name="z")])
    batch = Sized(Counted, "things", {"size": 7})
    items = validate_items(Counted, batch.items([{"name": "a"}, {"name": "skip"}]), "things")
    result = execute_many(batch, items)
    assert result["actions"] == ["delete", "create", "tag"]
    assert "z" not in Store.db and Store.db["a"]["size"] == 7 and "skip" not in Store.db
    assert [r["changed"] for r in result["results"]] == [True, True]


def test_one_object_listed_twice_is_refused_before_anything_is_read():
    with pytest.raises(InputError) as info:
        execute_many(Batch(Counted, "things"), [params(name="a"), params(name="b"), params(name="a", size=3)])
    assert info.value.option == "things[2].name" and "things[0]" in info.value.msg
    assert Counted.connects == 0 and Store.writes == []


def test_observe_and_resolve_change_nothing_they_are_given():
    """Data flows one way: the desired state a step is given is the same after it."""
    import copy

    class Resolving(Counted):
        def resolve(self, desired, observed, batch=None):
            return dict(desired, resolved=True)

        def plan(self, desired, observed):
            assert desired["resolved"] is True
            return super().plan(desired, observed)

    service = Resolving(params(name="a"))
    desired = service.desired()
    before = copy.deepcopy(desired)
    batch = Resolving.read_batch(service, [desired])
    observed = service.observe(desired, batch)
    resolved = service.resolve(desired, observed, batch)
    assert desired == before and resolved is not desired
    assert execute_many(Batch(Resolving, "things"), [params(name="a")])["changed"] is True


@pytest.mark.parametrize("service_class", ["docker", "libvirt"])
def test_every_backend_shares_one_connection_across_a_batch(service_class):
    """A batch connects once: the other items take the first one's client (the default
    share_connection connects again, one daemon round trip per item)."""
    from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Service
    from ansible_collections.virtcloud.core.plugins.module_utils.docker.client import DockerService
    from ansible_collections.virtcloud.core.plugins.module_utils.libvirt.connection import LibvirtService

    cls = {"docker": DockerService, "libvirt": LibvirtService}[service_class]
    assert cls.share_connection is not Service.share_connection
    first, other = cls({}), cls({})
    first.api = first.conn = object()
    other.share_connection(first)
    assert getattr(other, "api", None) is first.api or getattr(other, "conn", None) is first.conn


def test_diff_is_top_level_per_changed_item_and_after_is_what_was_read_back():
    """Issue 21: a batch's --diff printed nothing (the diffs sat inside results[]), and after a
    real run diff.after was the prediction, not the object read back."""
    execute_many(Batch(Counted, "things"), [params(name="a")])
    Counted.db["a"]["size"] = 7  # the backend stores something else than predicted
    predicted = execute_many(Batch(Counted, "things"), [params(name="a", size=3), params(name="b")],
                             check_mode=True, diff=True)
    assert [d["before_header"] for d in predicted["diff"]] == ["things[0]: a", "things[1]: b"]
    assert predicted["diff"][0]["after"]["size"] == 3 and predicted["diff"][1]["before"] == {}

    class Stubborn(Counted):
        def _write(self, op, name, desired=None):
            super()._write(op, name, desired)
            if op == "update":
                self.db[name]["size"] = 99  # e.g. rounded by the backend

    applied = execute_many(Batch(Stubborn, "things"), [params(name="a", size=3), params(name="c")], diff=True)
    assert applied["diff"][0]["after"]["size"] == 99 == applied["results"][0]["thing"]["size"]
    assert [d["after_header"] for d in applied["diff"]] == ["things[0]: a", "things[1]: c"]
    unchanged = execute_many(Batch(Counted, "things"), [params(name="c")], diff=True)
    assert unchanged["diff"] == []


class Resolved(Counted):
    def resolve(self, desired, observed, batch=None):
        if desired["size"] == 13:
            raise InputError("size", "13 is more than the backend takes")
        return desired


def test_every_item_is_resolved_before_anything_is_touched():
    """The backend's own limits (host capabilities, maximum sizes) are looked up in resolve: an
    item refused there stops the batch before its first write, also when it is not the first."""
    for check_mode in (True, False):
        with pytest.raises(InputError) as info:
            execute_many(Batch(Resolved, "things"), [params(name="a"), params(name="b", size=13)], check_mode)
        assert info.value.msg.startswith("things[1].size: 13 is more")
        assert Store.writes == [] and Store.db == {}


class Raced(Counted):
    """Another run creates `b` (with size 1) just before this one does: this create fails ('already
    exists'), as a define or a container create does when the name is taken."""

    def _write(self, op, name, desired=None):
        if op == "create" and name == "b" and name not in self.db:
            Store.db[name] = {"name": name, "size": 1, "tags": desired["tags"], "password": "x"}
            raise RuntimeError("%s already exists" % name)
        super()._write(op, name, desired)


def test_an_item_created_meanwhile_by_another_run_is_planned_again():
    result = execute_many(Batch(Raced, "things"), [params(name="a"), params(name="b"), params(name="c", size=3)])
    assert [r["actions"] for r in result["results"]] == [["create", "tag"], [], ["create", "tag"]]
    assert [r["changed"] for r in result["results"]] == [True, False, True]
    assert Store.db["b"]["size"] == 1 and Store.db["c"]["size"] == 3
    # and one that is there but differs is brought in line by the new plan
    Store.db.clear()
    result = execute_many(Batch(Raced, "things"), [params(name="b", size=7)])
    assert result["results"][0]["actions"] == ["update"] and Store.db["b"]["size"] == 7


def test_a_failure_that_changed_nothing_is_not_retried():
    Store.fail_on = "create"
    with pytest.raises(BackendError) as info:
        execute_many(Batch(Counted, "things"), [params(name="a")])
    assert "create failed" in info.value.msg and Store.writes == []
