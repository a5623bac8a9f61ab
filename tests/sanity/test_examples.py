"""Every module's EXAMPLES, read the way ansible-doc shows them, must be valid input for the module:
each task's arguments are checked against the module's documented options (names, types, choices,
sub-options), and the items of a batch module against the options of its single-object module.
Documentation that drifted from the code fails here, not in a new user's first playbook.

Values that are Jinja templates are left out: they are only known when a play runs."""

from __future__ import annotations

import glob
import json
import os
import re

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.virtcloud.core.plugins.module_utils.docker import client
from ansible_collections.virtcloud.core.plugins.module_utils.libvirt import connection
from ansible_collections.virtcloud.core.plugins.module_utils.lxd import client as lxd_client

from conftest import ROOT, VENV_BIN, sh  # noqa: E402
from test_sanity import MODULES  # noqa: E402

# batch module: (its list option, the module whose options an item takes, the connection options
# that are set once, on the task, and not per item)
BATCH = {"libvirt_domains": ("domains", "libvirt_domain", connection.CONNECTION),
         "docker_containers": ("containers", "docker_container", client.CONNECTION),
         "lxd_instances": ("instances", "lxd_instance", lxd_client.CONNECTION)}


@pytest.fixture(scope="module")
def docs():
    proc = sh(os.path.join(VENV_BIN, "ansible-doc"), "--json", *("virtcloud.core." + m for m in MODULES))
    return {name.split(".")[-1]: entry for name, entry in json.loads(proc.stdout).items()}


def argspec(options):
    spec = {}
    for name, doc in (options or {}).items():
        entry = {"type": doc.get("type", "str")}
        for key in ("elements", "choices", "aliases"):
            if key in doc:
                entry[key] = doc[key]
        if doc.get("suboptions"):
            entry["options"] = argspec(doc["suboptions"])
        spec[name] = entry
    return spec


def untemplated(value):
    """The value without the parts that are Jinja templates (None if it is one)."""
    if isinstance(value, str) and ("{{" in value or "{%" in value):
        return None
    if isinstance(value, dict):
        return {k: v for k, v in ((k, untemplated(v)) for k, v in value.items()) if v is not None}
    if isinstance(value, list):
        return [v for v in (untemplated(v) for v in value) if v is not None]
    return value


def tasks(entries):
    for task in entries or []:
        for key in ("block", "rescue", "always", "pre_tasks", "tasks", "post_tasks", "handlers"):
            yield from tasks(task.get(key))
        for key, args in task.items():
            if key.startswith("virtcloud.core."):
                yield task.get("name", key), key.split(".")[-1], args or {}


def check_task(docs, used, args, where):
    check(argspec(docs[used]["doc"]["options"]), args, where)
    if used in BATCH:
        option, single, shared = BATCH[used]
        item_spec = {k: v for k, v in argspec(docs[single]["doc"]["options"]).items() if k not in shared}
        for index, item in enumerate(untemplated(args).get(option) or []):
            check(item_spec, item, "%s, %s[%d]" % (where, option, index))


def check(spec, args, where):
    result = ArgumentSpecValidator(spec).validate(untemplated(args))
    assert not result.error_messages, "%s: %s" % (where, "; ".join(result.error_messages))


@pytest.mark.parametrize("module", MODULES)
def test_examples_are_valid_input(docs, module):
    examples = yaml.safe_load(docs[module]["examples"])
    found = list(tasks(examples))
    assert module in {task[1] for task in found}, "EXAMPLES of %s never use it" % module
    for name, used, args in found:
        check_task(docs, used, args, "%s EXAMPLES, task %r" % (module, name))


PAGES = ["README.md"] + sorted(os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "docs", "*.md")))


@pytest.mark.parametrize("page", PAGES)
def test_yaml_in_readme_and_docs_is_valid_input(docs, page):
    """The README and docs/ are what a new user copies from: their YAML blocks are checked the same way."""
    with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
        blocks = re.findall(r"^```ya?ml\n(.*?)^```", handle.read(), re.M | re.S)
    checked, task_blocks = 0, 0
    for number, block in enumerate(blocks, 1):
        data = yaml.safe_load(block)
        if isinstance(data, dict):  # a file of another kind (an execution environment definition, an inventory source)
            continue
        task_blocks += 1
        for name, used, args in tasks(data):
            assert used in docs, "%s, YAML block %d: no module virtcloud.core.%s" % (page, number, used)
            check_task(docs, used, args, "%s, YAML block %d, task %r" % (page, number, name))
            checked += 1
    assert checked or not task_blocks, "%s: YAML blocks without a virtcloud.core task" % page
