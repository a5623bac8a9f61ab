# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine for batch modules (domains, docker_containers): many objects of one kind in one task,
each item taking the options of the single-object module and planned by the same service.

Kept apart from engine.py because every module run compiles what it imports: single-object
modules do not carry this code.
"""

from __future__ import annotations

import threading

from .engine import apply, finish, report, translated
from .errors import InputError, VirtcloudError


def validate_items(service_class, items, option):
    """Check every item of a batch option against the single-object module's own argument spec
    (types, defaults, choices, required, no_log), so both modules accept exactly the same input.
    Returns the validated params (shared connection options are added by the caller)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

    validator = ArgumentSpecValidator({name: opt.argspec() for name, opt in service_class.options.items()},
                                      **service_class.module_kwargs)
    out = []
    for index, item in enumerate(items or []):
        if not isinstance(item, dict):
            raise InputError("%s[%d]" % (option, index), "must be a dictionary, got %r" % (item,))
        shared = sorted(set(item) & set(service_class.connection))
        if shared:
            raise InputError("%s[%d]" % (option, index),
                             "%s: set connection options once, on the task" % ", ".join(shared))
        result = validator.validate(item)
        if result.error_messages:
            raise InputError("%s[%d]" % (option, index), "; ".join(result.error_messages))
        out.append(result.validated_parameters)
    return out


def item_desired(service, option, index):
    """`service.desired()` of a batch item; an InputError names the item: option[index].name."""
    try:
        return service.desired()
    except InputError as exc:
        raise InputError("%s[%d].%s" % (option, index, exc.option), exc.msg.split(": ", 1)[-1])


def execute_many(service_class, params_list, check_mode=False, diff=False, option="items"):
    """Reconcile many objects of one kind in one task.

    Every item is validated, and then planned, before anything is touched. One connection serves
    all; `service_class.observe_many` observes them together (one listing call where the backend
    has one), before the changes and again after them. The plans are applied like `execute`
    applies one, up to `service_class.batch_workers` items at a time (their steps in order).
    Returns {changed, actions (all items'), results (one `execute` result per item),
    [restart_required], [warnings]}.

    An item that fails rolls back its own steps and no item after it in the list is started; the
    items that were applied stay done (a rerun finishes the batch), and those before the failed
    one, which are always applied, are returned in the error's `results`."""
    services = [service_class(params) for params in params_list]
    if not services:
        return {"changed": False, "actions": [], "results": []}
    services[0].check_requirements()
    desireds = [item_desired(service, option, index) for index, service in enumerate(services)]
    first = services[0]
    with translated(first):
        first.connect()
        for service in services[1:]:
            service.share_connection(first)
        observed = service_class.observe_many(services, desireds)
    plans = []
    for index, (service, desired, have) in enumerate(zip(services, desireds, observed)):
        try:
            with translated(service):
                plans.append(service.plan(desired, have))
        except VirtcloudError as exc:
            raise _item_error(exc, option, index, [])
    todo = [] if check_mode else [index for index, plan in enumerate(plans) if plan.steps]
    failed = _apply_many(services, plans, todo, service_class.batch_workers)
    reported = min(failed) if failed else len(plans)  # results stop at the first failed item
    afters = [plan.after for plan in plans]
    applied = [index for index in todo if index < reported]
    if applied:
        with translated(first):
            again = service_class.observe_many([services[i] for i in applied], [desireds[i] for i in applied])
        for index, after in zip(applied, again):
            afters[index] = after
    results, warnings = [], []
    for service, have, plan, after in list(zip(services, observed, plans, afters))[:reported]:
        result = report(service, have, plan, after, diff)
        warnings.extend(result.pop("warnings", []))
        results.append(result)
    if failed:
        raise _item_error(failed[reported], option, reported, results)
    out = {"changed": any(r["changed"] for r in results),
           "actions": [action for r in results for action in r["actions"]], "results": results}
    if any(r.get("restart_required") for r in results):
        out["restart_required"] = True
    if warnings:
        out["warnings"] = warnings
    return out


def _apply_many(services, plans, todo, workers):
    """Apply the plans of the items in `todo`, up to `workers` at a time. After a failure no item
    that comes later in the list is started; the earlier ones always are, so that every item before
    the first failed one is done. Returns {index: VirtcloudError} of the items that failed."""
    failed = {}
    lock = threading.Lock()

    def item(index):
        with lock:
            if failed and index > min(failed):
                return
        try:
            apply(services[index], plans[index])
        except VirtcloudError as exc:
            with lock:
                failed[index] = exc

    if workers > 1 and len(todo) > 1:
        from concurrent.futures import ThreadPoolExecutor  # not needed (nor compiled) when nothing changes

        with ThreadPoolExecutor(max_workers=min(workers, len(todo))) as pool:
            list(pool.map(item, todo))
    else:
        for index in todo:
            item(index)
    return failed


def _item_error(exc, option, index, results):
    exc.msg = "%s[%d]: %s" % (option, index, exc.msg)
    exc.args = (exc.msg,)
    exc.details["results"] = results
    return exc


def run_batch(service_class, option):
    """Entry point of a batch module file: `option` is the name of the list option whose items
    each take the options of `service_class`; the module's own argspec is that list plus the
    backend's connection options."""
    module = _batch_module(service_class, option)

    def call():
        common = {name: module.params[name] for name in service_class.connection}
        items = validate_items(service_class, module.params[option], option)
        return execute_many(service_class, [dict(item, **common) for item in items],
                            module.check_mode, module._diff, option=option)

    finish(module, call)


def _batch_module(service_class, batch):
    """AnsibleModule for a batch module: the list option plus the connection options. The items
    are validated by `validate_items`, so AnsibleModule does not know which of their values are
    secrets: they are found first and masked everywhere, from the invocation log on."""
    from ansible.module_utils.basic import AnsibleModule, _load_params

    secrets = set()

    def walk(options, params):
        if not isinstance(params, dict):
            return
        for name, opt in options.items():
            value = params.get(name)
            if value is None:
                continue
            if opt.no_log:
                secrets.add(str(value))
            elif opt.options and isinstance(value, dict):
                walk(opt.options, value)
            elif opt.options and isinstance(value, list):
                for entry in value:
                    walk(opt.options, entry)

    for item in (_load_params() or {}).get(batch) or []:
        walk(service_class.options, item)

    class BatchModule(AnsibleModule):
        def _log_invocation(self):
            self.no_log_values.update(secrets)
            super()._log_invocation()

    spec = {name: opt.argspec() for name, opt in service_class.connection.items()}
    spec[batch] = {"type": "list", "elements": "dict", "required": True}
    module = BatchModule(argument_spec=spec, supports_check_mode=True)
    module.no_log_values.update(secrets)  # also when invocation logging is off
    return module
