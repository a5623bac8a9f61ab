# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The errors every virtcloud module raises; the engine turns each into one clean fail_json."""

from __future__ import annotations


class VirtcloudError(Exception):
    """Base error: its message is what the user sees, ``details`` are extra result keys."""

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.msg = msg
        self.details = details


class InputError(VirtcloudError):
    """Bad input, raised before anything is touched. Always names the option; ``problem`` is the
    message without it, for a caller that adds where the value came from."""

    def __init__(self, option, problem, **details):
        super().__init__("%s: %s" % (option, problem), option=option, **details)
        self.option = option
        self.problem = problem


class BackendUnavailable(VirtcloudError):
    """The daemon cannot be reached (down, wrong address, permission denied)."""


class BackendError(VirtcloudError):
    """The daemon refused or failed an operation."""


class MissingDependency(VirtcloudError):
    """A Python library the module needs is not importable on the managed host."""

    def __init__(self, library, pip_name, error):
        super().__init__(
            "Python library '%s' is required on the managed host but cannot be imported (%s). "
            "Install it into the interpreter Ansible uses there (pip install '%s') or point "
            "ansible_python_interpreter at a Python that has it." % (library, error, pip_name),
            library=library,
        )
