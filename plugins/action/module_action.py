# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of every virtcloud.core module: Ansible's stock `normal` action, run with the
heap the worker inherited frozen.

No module has an action plugin of its own name: meta/runtime.yml routes every module here
(`plugin_routing: modules: <module>: action_plugin: virtcloud.core.module_action`), which is
how Ansible picks the action of a module before it looks for a plugin of the module's name.
tests/unit/test_module_action.py fails for a module without that entry. This file has no module
of its name to document it, hence its `action-plugin-docs` entries in tests/sanity/ignore-*.txt.

Ansible forks a worker process per task from the controller, which by then holds a large heap.
Building the module payload allocates a lot (Ansible parses the module and every module_util it
ships into syntax trees), enough to start a full garbage collection, and a full collection walks
the whole inherited heap: about 40 ms per task on a 2-core host, in a task of 0.4-0.5 s. It also
writes the collector header of every object it walks, so the pages the worker shared
copy-on-write with the controller become private copies. `gc.freeze()` moves everything the
worker inherited to the permanent generation, which no collection walks; what the task allocates
is collected as usual. The worker exits when its task is done, so nothing is kept any longer than
before. See docs/performance.md.
"""

from __future__ import annotations

import gc

from ansible.plugins.action.normal import ActionModule as _NormalAction


class ActionModule(_NormalAction):
    """`normal`, with the inherited heap frozen before anything is built."""

    def run(self, tmp=None, task_vars=None):
        gc.freeze()
        return super().run(tmp, task_vars)
