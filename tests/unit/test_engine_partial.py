"""The engine when a step fails partway: the step's own partial work is undone, and the failed
result says what ran (`actions`) and whether a change stays (`changed`), for one object and a batch."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.batch import Batch, execute_many
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Plan, apply, failure
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError

# clean_store is test_engine's autouse fixture: importing it applies it here too
from test_engine import Store, clean_store, params  # noqa: F401 pylint: disable=unused-import


def fail(message="no space left on device"):
    def do():
        raise RuntimeError(message)
    return do


class Disk:
    """What the steps wrote: a file that a step fills and that its undo removes."""

    def __init__(self):
        self.files = {}

    def write_half(self, name):
        def do():
            self.files[name] = "half"
            raise RuntimeError("no space left on device")
        return do

    def remove(self, name):
        return lambda: self.files.pop(name, None)


def test_a_partial_step_undoes_its_own_work_first_then_the_earlier_steps():
    disk = Disk()
    plan = Plan(None)
    plan.step("make dir", lambda: disk.files.update(dir="made"), undo=disk.remove("dir"), undone="removed dir")
    plan.step("upload vol", disk.write_half("vol"), undo=disk.remove("vol"), undone="deleted vol", partial=True)
    with pytest.raises(BackendError) as info:
        apply(Store(params()), plan)
    assert disk.files == {}
    assert "upload vol failed: translated: no space left on device" in info.value.msg
    assert "(rolled back: removed dir, deleted vol)" in info.value.msg, info.value.msg
    assert info.value.details["actions"] == ["make dir"] and info.value.details["changed"] is False


def test_a_step_that_is_not_partial_keeps_its_undo_for_later_failures_only():
    disk = Disk()
    plan = Plan(None)
    plan.step("upload vol", disk.write_half("vol"), undo=disk.remove("vol"))
    with pytest.raises(BackendError) as info:
        apply(Store(params()), plan)
    assert disk.files == {"vol": "half"} and "rolled back" not in info.value.msg


def test_a_partial_step_needs_an_undo():
    with pytest.raises(ValueError):
        Plan(None).step("upload vol", lambda: None, partial=True)


def test_a_failed_run_whose_earlier_step_stays_reports_changed_and_what_ran():
    plan = Plan(None)
    plan.step("stop pool", lambda: None)  # no undo: the pool stays stopped
    plan.step("delete its data", fail("Directory not empty"))
    with pytest.raises(BackendError) as info:
        apply(Store(params()), plan)
    assert failure(info.value) == {"actions": ["stop pool"], "changed": True}


def test_a_failed_undo_leaves_the_change_reported():
    def broken():
        raise RuntimeError("busy")

    plan = Plan(None)
    plan.step("upload vol", fail(), undo=broken, partial=True)
    with pytest.raises(BackendError) as info:
        apply(Store(params()), plan)
    assert "(rollback problems: upload vol: busy)" in info.value.msg
    assert failure(info.value)["changed"] is True


def test_a_failure_before_any_step_changed_nothing():
    plan = Plan(None)
    plan.step("create", fail(), undo=lambda: None)
    with pytest.raises(BackendError) as info:
        apply(Store(params()), plan)
    assert failure(info.value) == {"actions": [], "changed": False}


def test_a_failed_batch_reports_the_done_items_actions_and_changed():
    Store.fail_on = "tag"
    with pytest.raises(BackendError) as info:
        execute_many(Batch(Store, "things"), [params(name="a"), params(name="b")])
    # the first item failed: its create ran and was rolled back
    assert failure(info.value) == {"actions": ["create"], "changed": False, "results": []}
    Store.fail_on = None
    execute_many(Batch(Store, "things"), [params(name="a")])
    Store.fail_on = "tag"
    with pytest.raises(BackendError) as info:
        execute_many(Batch(Store, "things"), [params(name="a", size=2), params(name="b")])
    # a was updated (and stays so), then b's create ran and was rolled back
    result = failure(info.value)
    assert result["actions"] == ["update", "create"] and result["changed"] is True
    assert Store.db["a"]["size"] == 2 and "b" not in Store.db
