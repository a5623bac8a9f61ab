# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""liblxc through its Python binding (`lxc`), shared by the classic LXC modules.

The binding answers most calls with True or False and writes nothing of its own; so every call
that changes something runs with liblxc's log sent, for that call only, to a file of ours (a
setting of the in-memory container object, never saved to its config), and with the process's
stdout and stderr sent there too (templates print while they build a root file system, and the
module's stdout is its JSON result). A call that fails raises BackendError with the errors LXC
logged.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile

from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import Opt, Service
from ansible_collections.virtcloud.core.plugins.module_utils.common.errors import (
    BackendError,
    BackendUnavailable,
    InputError,
)

try:
    import lxc

    LXC_IMPORT_ERROR = None
except ImportError as exc:  # reported by the engine before anything is touched
    lxc = None
    LXC_IMPORT_ERROR = exc

CONNECTION = {"lxcpath": Opt(type="path")}
LOG_LINES = 6  # the first errors of a failed call, which its message quotes


def missing_binding(error):
    """The message for a host without the binding: what to install, for which Python."""
    return ("the Python binding of liblxc ('lxc') cannot be imported (%s). Install it into the Python "
            "Ansible uses on the managed host: pip install 'lxc>=3.0.4', which builds against liblxc's "
            "headers (Debian/Ubuntu: apt-get install lxc lxc-dev gcc python3-dev); Debian's python3-lxc "
            "serves /usr/bin/python3 only" % (error,))


class LxcService(Service):
    """Base of the classic LXC services: lxcpath, the binding, calls whose failures say why."""

    connection = CONNECTION

    def check_requirements(self):
        if LXC_IMPORT_ERROR is not None:
            raise BackendUnavailable(missing_binding(LXC_IMPORT_ERROR), library="lxc")

    def connect(self):
        path = self.params.get("lxcpath") or lxc.default_config_path
        if not os.path.isdir(path):
            raise InputError("lxcpath", "%s is not a directory; LXC's containers live in %s by default"
                             % (path, lxc.default_config_path))
        self.lxcpath = path

    def container(self, name, lxcpath=None):
        return lxc.Container(name, lxcpath or self.lxcpath)

    @staticmethod
    def scratch():
        """A container object nothing is saved from, for asking liblxc what it makes of a key and value."""
        scratch = lxc.Container("virtcloud-scratch", "/nonexistent/virtcloud-lxc-scratch")
        scratch.append_config_item("lxc.uts.name", "scratch")  # liblxc has no config to ask before a first key
        return scratch

    def call(self, what, container, method, *args, log=False, **kwargs):
        """container.method(*args), which LXC answers with a false value on failure: its result, or
        BackendError("<what> failed: <the errors LXC logged, and what its helpers printed>").
        log=True sends liblxc's log to a file of ours for this call: only for calls that write no
        config from the object (start, stop), since create, clone and snapshot would save it."""
        workdir = tempfile.mkdtemp(prefix="virtcloud-lxc-")
        log_file = os.path.join(workdir, "log")
        try:
            if log:
                container.set_config_item("lxc.log.file", log_file)
                container.set_config_item("lxc.log.level", "ERROR")
            with redirected(os.path.join(workdir, "output")):
                answer = getattr(container, method)(*args, **kwargs)
            if not answer:
                raise BackendError("%s failed: %s" % (what, why(log_file, os.path.join(workdir, "output"))))
            return answer
        finally:
            if log:
                with contextlib.suppress(Exception):
                    container.clear_config_item("lxc.log.file")
            shutil.rmtree(workdir, ignore_errors=True)


@contextlib.contextmanager
def redirected(path):
    """The process's stdout and stderr (file descriptors 1 and 2, inherited by what liblxc runs)
    go to `path` while the block runs."""
    with open(path, "wb") as sink:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(sink.fileno(), 1)
            os.dup2(sink.fileno(), 2)
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def why(*paths):
    """The last error lines LXC logged (without its prefixes) and what its helpers printed."""
    lines = []
    for path in paths:
        try:
            with open(path, errors="replace") as handle:
                text = handle.read()
        except OSError:
            continue
        for line in text.splitlines():
            line = line.strip()
            if " - " in line and " ERROR " in line:
                line = line.rsplit(" - ", 1)[-1]
            if line and line not in lines:
                lines.append(line)
    return "; ".join(lines[:LOG_LINES]) or "LXC logged no reason"
