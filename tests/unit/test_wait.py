"""common/wait.py: polling until something holds, on a fake clock (no real sleeping)."""

from __future__ import annotations

import types

import pytest

from ansible_collections.virtcloud.core.plugins.module_utils.common import wait
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError, InputError


@pytest.fixture
def clock(monkeypatch):
    """A fake time module for wait.py: sleep() moves monotonic() on and records the naps."""
    fake = types.SimpleNamespace(now=1000.0, naps=[])

    def sleep(seconds):
        fake.naps.append(seconds)
        fake.now += seconds

    fake.monotonic = lambda: fake.now
    fake.sleep = sleep
    monkeypatch.setattr(wait, "time", fake)
    return fake


def sequence(*values):
    """A probe returning `values` one per call, then the last one for ever."""
    values = list(values)
    return lambda: values.pop(0) if len(values) > 1 else values[0]


def test_returns_the_value_that_satisfied_the_condition(clock):
    assert wait.wait_for(sequence("starting", "starting", "healthy"), lambda s: s == "healthy", 10, "x") == "healthy"
    assert clock.naps == [0.5, 0.5]


def test_already_done_does_not_sleep(clock):
    assert wait.wait_for(lambda: 0, lambda n: n == 0, 0, "x") == 0
    assert clock.naps == []


def test_timeout_says_what_how_long_and_last_seen(clock):
    with pytest.raises(wait.WaitTimeout) as err:
        wait.wait_for(sequence(1, 2, 3), lambda n: False, 2, "guest web to shut down", interval=1,
                      describe=lambda n: "state %d" % n)
    assert isinstance(err.value, BackendError) and err.value.last == 3
    assert err.value.msg == "timed out after 2 s waiting for guest web to shut down; last seen: state 3"
    assert clock.naps == [1, 1] and clock.now == 1002.0


def test_the_probe_runs_once_more_at_the_deadline(clock):
    seen = []
    with pytest.raises(wait.WaitTimeout) as err:
        wait.wait_for(lambda: seen.append(clock.now) or len(seen), lambda n: False, 1.2, "x", interval=0.5)
    assert seen == [1000.0, 1000.5, 1001.0, 1001.5] and err.value.last == 4
    assert "last seen: 4" in err.value.msg


def test_default_describe_is_repr(clock):
    with pytest.raises(wait.WaitTimeout) as err:
        wait.wait_for(lambda: "starting", lambda s: False, 0, "container web to become healthy")
    assert err.value.msg.endswith("last seen: 'starting'")


def test_fail_ends_the_wait_at_once(clock):
    def fail(status):
        return "container web is %s" % status if status == "unhealthy" else None

    with pytest.raises(BackendError) as err:
        wait.wait_for(sequence("starting", "unhealthy", "healthy"), lambda s: s == "healthy", 60, "x", fail=fail)
    assert not isinstance(err.value, wait.WaitTimeout)
    assert err.value.msg == "container web is unhealthy" and clock.naps == [0.5]


def test_the_condition_may_raise_its_own_error(clock):
    def done(status):
        if status is None:
            raise InputError("wait_healthy", "container web has no healthcheck")
        return status == "healthy"

    with pytest.raises(InputError):
        wait.wait_for(lambda: None, done, 60, "x")
    assert clock.naps == []
