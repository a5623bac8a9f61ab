"""The shared engine: planning, check mode, rollback, diff and secret masking, on a fake backend."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import (
    SECRET,
    Opt,
    Plan,
    Service,
    differences,
    execute,
)
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    InputError,
    MissingDependency,
)


class Store(Service):
    """A fake backend: objects live in a dict; every write is counted."""

    result_key = "thing"
    options = {
        "name": Opt(required=True),
        "size": Opt(type="int", update="recreate"),
        "tags": Opt(type="list", compare="set", update="live"),
        "password": Opt(no_log=True),
        "state": Opt(default="present", choices=["present", "absent"]),
    }
    db = {}
    writes = []
    fail_on = None

    def desired(self):
        if self.params.get("size") is not None and self.params["size"] < 0:
            raise InputError("size", "must be >= 0")
        return dict(self.params)

    def observe(self, desired, batch=None):
        thing = self.db.get(desired["name"])
        return None if thing is None else dict(thing)

    def plan(self, desired, observed):
        plan = Plan(observed)
        name = desired["name"]
        if desired["state"] == "absent":
            return Plan.removal(observed, "delete", lambda: self._write("delete", name))
        if observed is None:
            plan.after = {"name": name, "size": desired["size"], "tags": desired["tags"], "password": "x"}
            plan.step("create", lambda: self._write("create", name, desired), undo=lambda: self.db.pop(name))
            plan.step("tag", lambda: self._write("tag", name, desired))
            return plan
        plan.changes = differences(self.options, desired, observed)
        if plan.changes:
            plan.after = dict(observed, **{c.option: c.after for c in plan.changes})
            plan.step("update", lambda: self._write("update", name, desired))
        return plan

    def _write(self, op, name, desired=None):
        if op == self.fail_on:
            raise RuntimeError("backend exploded on %s" % op)
        self.writes.append(op)
        if op == "delete":
            del self.db[name]
        else:
            self.db[name] = {"name": name, "size": desired["size"], "tags": desired["tags"], "password": "x"}

    def translate(self, exc):
        return BackendError("translated: %s" % exc) if isinstance(exc, RuntimeError) else None


@pytest.fixture(autouse=True)
def clean_store():
    Store.db, Store.writes, Store.fail_on = {}, [], None


def params(**kw):
    base = {"name": "a", "size": 1, "tags": ["x", "y"], "password": None, "state": "present"}
    base.update(kw)
    return base


def test_create_then_rerun_is_a_noop():
    first = execute(Store(params()))
    assert first["changed"] and first["actions"] == ["create", "tag"]
    second = execute(Store(params(tags=["y", "x"])))  # order has no meaning for a 'set' option
    assert second == {"changed": False, "actions": [], "thing": dict(Store.db["a"], password=SECRET)}
    assert Store.writes == ["create", "tag"]


def test_check_mode_predicts_without_writing():
    predicted = execute(Store(params()), check_mode=True, diff=True)
    assert predicted["changed"] and Store.writes == [] and Store.db == {}
    real = execute(Store(params()), diff=True)
    assert real["actions"] == predicted["actions"]
    assert real["diff"] == predicted["diff"]


def test_diff_shows_before_and_after_and_masks_secrets():
    execute(Store(params()))
    result = execute(Store(params(size=5, password="hunter2")), diff=True)
    assert result["diff"]["before"]["size"] == 1 and result["diff"]["after"]["size"] == 5
    assert result["diff"]["after"]["password"] == SECRET
    assert result["thing"]["password"] == SECRET
    assert "hunter2" not in repr(result)


def test_failure_rolls_back_what_this_run_created():
    Store.fail_on = "tag"
    with pytest.raises(BackendError) as info:
        execute(Store(params()))
    assert "tag failed: translated: backend exploded" in info.value.msg
    assert "rolled back: create" in info.value.msg
    assert Store.db == {}


def test_bad_input_fails_before_the_backend_is_touched():
    with pytest.raises(InputError) as info:
        execute(Store(params(size=-1)))
    assert info.value.msg.startswith("size:")
    assert Store.writes == []


def test_missing_dependency_is_reported_by_name():
    class NeedsLib(Store):
        requirements = (("fancylib", "fancylib>=2", ImportError("No module named 'fancylib'")),)

    with pytest.raises(MissingDependency) as info:
        execute(NeedsLib(params()))
    assert "fancylib" in info.value.msg and "pip install 'fancylib>=2'" in info.value.msg


def test_absent_removes_and_reports_empty_facts():
    execute(Store(params()))
    result = execute(Store(params(state="absent")), diff=True)
    assert result["changed"] and result["thing"] == {} and result["diff"]["after"] == {}
    assert execute(Store(params(state="absent")))["changed"] is False


def test_unset_options_are_not_managed():
    execute(Store(params()))
    assert execute(Store(params(size=None, tags=None)))["changed"] is False


def test_argument_spec_comes_from_the_option_table():
    spec = Store.argument_spec()
    assert spec["password"] == {"type": "str", "no_log": True}
    assert spec["state"]["choices"] == ["present", "absent"]
    assert spec["name"]["required"] is True


class Reader(Service):
    """A command-like service: no object, facts returned top-level."""

    result_key = None
    options = {"word": Opt()}

    def observe(self, desired):
        return {"echo": desired["word"]}

    def plan(self, desired, observed):
        return Plan(observed)


def test_result_key_none_returns_facts_top_level():
    result = execute(Reader({"word": "hi"}))
    assert result == {"changed": False, "actions": [], "echo": "hi"}


def test_plan_include_merges_item_plans():
    batch, one, two = Plan({}), Plan({}), Plan({})
    one.step("a", lambda: None)
    one.warnings.append("w")
    two.step("b", lambda: None)
    two.restart_required = True
    batch.include(one)
    batch.include(two)
    assert [s.description for s in batch.steps] == ["a", "b"]
    assert batch.warnings == ["w"] and batch.restart_required and batch.changed


def test_rollback_reports_what_each_undo_left_and_only_undos_that_worked():
    from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Plan, apply

    def broken():
        raise RuntimeError("undo exploded")

    def fail():
        raise RuntimeError("step exploded")

    plan = Plan(None)
    plan.step("create a", lambda: None, undo=lambda: None, undone="removed a")
    plan.step("stop b", lambda: None, undo=broken, undone="started b again")
    plan.step("start c", fail)
    with pytest.raises(BackendError) as info:
        apply(Store(params()), plan)
    msg = info.value.msg
    assert "(rolled back: removed a)" in msg, msg
    assert "started b again" not in msg
    assert "(rollback problems: stop b: undo exploded)" in msg
