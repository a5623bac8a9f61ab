# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for something to happen: poll, check, sleep, until it holds or the time is up."""

from __future__ import annotations

import time

from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import BackendError


class WaitTimeout(BackendError):
    """The condition did not hold in time; ``last`` is the last value the probe returned."""

    def __init__(self, msg, last):
        super().__init__(msg)
        self.last = last


def wait_for(probe, done, timeout, what, interval=0.5, describe=repr, fail=None):
    """Call ``probe()`` until ``done(value)`` is true and return that value. Checked at least
    once, then every ``interval`` seconds for ``timeout`` seconds; after that WaitTimeout (a
    BackendError) says what was waited for (``what``, e.g. "guest web to shut down"), how long,
    and the last value seen, rendered by ``describe``. ``fail(value)`` may return a message for
    a state that will not get better: the wait ends at once with a BackendError saying so
    (``done`` may also raise its own error)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if done(value):
            return value
        problem = fail(value) if fail is not None else None
        if problem:
            raise BackendError(problem)
        if time.monotonic() >= deadline:
            raise WaitTimeout("timed out after %s s waiting for %s; last seen: %s" % (timeout, what, describe(value)),
                              value)
        time.sleep(interval)
