"""The engine's batch helpers (execute_many, validate_items) on the fake backend of test_engine."""

from __future__ import annotations

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import execute_many, validate_items
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
    def observe_many(cls, services, desireds):
        cls.observed_together += 1
        return super().observe_many(services, desireds)


@pytest.fixture(autouse=True)
def counters():
    Counted.connects = Counted.observed_together = 0


def test_one_connection_one_observation_then_noop():
    specs = [params(name=n) for n in "abc"]
    first = execute_many(Counted, specs, option="things")
    assert first["changed"] and first["actions"] == ["create", "tag"] * 3
    assert Counted.connects == 1 and Counted.observed_together == 1
    again = execute_many(Counted, specs, option="things")
    assert again["changed"] is False and [r["changed"] for r in again["results"]] == [False] * 3


def test_every_item_is_validated_before_anything_is_touched():
    with pytest.raises(InputError) as info:
        execute_many(Counted, [params(name="a"), params(name="b", size=-1)], option="things")
    assert info.value.msg.startswith("things[1].size:") and Store.writes == [] and Counted.connects == 0


def test_a_failing_item_rolls_back_itself_and_reports_the_done_ones():
    execute_many(Counted, [params(name="a")])
    Store.fail_on = "tag"
    with pytest.raises(BackendError) as info:
        execute_many(Counted, [params(name="a", size=2), params(name="b")], option="things")
    assert info.value.msg.startswith("things[1]: tag failed")
    assert [r["changed"] for r in info.value.details["results"]] == [True]
    assert "b" not in Store.db and Store.db["a"]["size"] == 2


def test_check_mode_changes_nothing():
    result = execute_many(Counted, [params(name="a"), params(name="b")], check_mode=True, diff=True)
    assert result["changed"] and Store.writes == [] and result["results"][0]["diff"]["before"] == {}


def test_validate_items_uses_the_single_object_argspec():
    items = validate_items(Store, [{"name": "a"}, {"name": "b", "size": "3"}], "things")
    assert items[0]["state"] == "present" and items[1]["size"] == 3
    for bad in ([{"size": 1}], [{"name": "a", "state": "gone"}], ["a"]):
        with pytest.raises(InputError) as info:
            validate_items(Store, bad, "things")
        assert info.value.option == "things[0]"


def test_empty_batch():
    assert execute_many(Counted, []) == {"changed": False, "actions": [], "results": []}
