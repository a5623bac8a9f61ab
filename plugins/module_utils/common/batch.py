# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine for batch modules (libvirt_domains, docker_containers, ...): many objects of one kind
in one task, each item taking the options of the single-object module and going through the same
service: desired -> observed -> resolved -> plan -> apply -> report.

A batch module is the single-object service plus a `Batch`: the name of its list option and,
where the module has task-level options (docker_containers' state=overridden ...), the hooks that
give them meaning. The service contributes `read_batch` (one listing call shared by every item)
and `batch_workers` (how many items are applied at a time). Nothing else is batch-specific.

Kept apart from engine.py because every module run compiles what it imports: single-object
modules do not carry this code.
"""

from __future__ import annotations

import threading

from .engine import facts_of, apply_or_replan, finish, masking_module, report, secret_values, translated
from .errors import InputError, VirtcloudError


class Batch:
    """What a batch module adds to its single-object service. Subclass it for task-level options;
    the hooks below default to "no change"."""

    options = {}  # task-level options besides the list and the connection: name -> Opt

    def __init__(self, service, option, params=None):
        self.service = service  # the single-object Service class every item runs on
        self.option = option    # the list option, e.g. "domains"
        self.params = params or {}

    def items(self, items):
        """The raw items to validate and reconcile; task-level options may rewrite them."""
        return items

    def adjust(self, desired):
        """An item's desired state under the task-level options."""
        return desired

    def extra(self, batch, desireds):
        """Params (without the connection options) of more items that the batch read shows are
        needed, e.g. removals of what the list does not name; they run before the listed items."""
        return []


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


def _per_item(label, call, *args):
    """`call(*args)`, with an InputError renamed after the item: option[index].option."""
    try:
        return call(*args)
    except InputError as exc:
        raise InputError("%s.%s" % (label, exc.option), exc.problem)


def execute_many(batch, params_list, check_mode=False, diff=False):
    """Reconcile many objects of one kind in one task.

    Every item is validated, observed, resolved and planned before anything is touched. One
    connection serves all; `read_batch` reads what one call can tell about every item (before the
    changes, and again for the changed items after them). The plans are applied like `execute`
    applies one, up to `service.batch_workers` items at a time (each item's steps in order).
    Returns {changed, actions (all items'), results (one `execute` result per item),
    [restart_required], [warnings]}.

    An item whose apply fails on an object that another run changed meanwhile (two runs of one
    batch both create it: 'already exists') is observed, resolved and planned again from the object
    as it is, and applied once more.

    An item that fails rolls back its own steps and no item after it in the list is started; the
    items that were applied stay done (a rerun finishes the batch), and those before the failed
    one, which are always applied, are returned in the error's `results`."""
    cls, option = batch.service, batch.option
    if not params_list:
        return {"changed": False, "actions": [], "results": []}
    labels = ["%s[%d]" % (option, index) for index in range(len(params_list))]
    services = [cls(params) for params in params_list]
    for service in services:
        service.check_mode = check_mode
    services[0].check_requirements()
    desireds = [batch.adjust(_per_item(label, service.desired)) for label, service in zip(labels, services)]
    _refuse_duplicates(desireds, labels)
    first = services[0]
    with translated(first):
        first.connect()
        survey = cls.read_batch(first, desireds)
        extra = batch.extra(survey, desireds)
    if extra:
        common = {name: first.params[name] for name in cls.connection}
        params = validate_items(cls, extra, "extra")
        more = [cls(dict(p, **common)) for p in params]
        for service in more:
            service.check_mode = check_mode
        labels = ["%s (not listed)" % d["name"] for d in params] + labels
        desireds = [service.desired() for service in more] + desireds
        services = more + services
    for service in services:
        if service is not first:
            service.share_connection(first)
    plans, observed, resolved = [], [], []
    for label, service, desired in zip(labels, services, desireds):
        try:
            with translated(service):
                have = _per_item(label, service.observe, desired, survey)
                want = _per_item(label, service.resolve, desired, have, survey)
                plans.append(_per_item(label, service.plan, want, have))
        except InputError as exc:  # named after its item already
            exc.details.setdefault("results", [])
            raise
        except VirtcloudError as exc:
            raise _item_error(exc, label, [])
        observed.append(have)
        resolved.append(want)
    todo = [] if check_mode else [index for index, plan in enumerate(plans) if plan.steps]

    def replan(index):
        """Item `index` failed: when its object is no longer what was observed (another run of the
        same batch created or changed it meanwhile: 'already exists'), plan it again from what
        it is now, once. Returns (observed, plan), or None (the failure stands)."""
        service, desired = services[index], desireds[index]
        with translated(service):
            have = service.observe(desired, cls.read_batch(service, [desired]))
            if facts_of(service, have) == facts_of(service, observed[index]):
                return None
            want = _per_item(labels[index], service.resolve, desired, have, cls.read_batch(service, [desired]))
            observed[index], resolved[index] = have, want
            return have, _per_item(labels[index], service.plan, want, have)

    failed = _apply_many(services, plans, todo, cls.batch_workers, replan)
    reported = min(failed) if failed else len(plans)  # results stop at the first failed item
    afters = [plan.after for plan in plans]
    applied = [index for index in todo if index < reported]
    if applied:
        with translated(first):
            again = cls.read_batch(first, [resolved[i] for i in applied])
            for index in applied:
                afters[index] = services[index].observe(resolved[index], again)
    results, warnings = [], []
    for service, have, plan, after in list(zip(services, observed, plans, afters))[:reported]:
        result = report(service, have, plan, after, diff)
        if not check_mode and after is not None:
            with translated(service):
                result.update(service.settle(after))
        warnings.extend(result.pop("warnings", []))
        results.append(result)
    if failed:
        raise _item_error(failed[reported], labels[reported], results)
    out = {"changed": any(r["changed"] for r in results),
           "actions": [action for r in results for action in r["actions"]], "results": results}
    if diff:  # what `ansible-playbook --diff` shows: one before/after per changed item, in list order
        headers = [label if desired.get("name") in label else "%s: %s" % (label, desired.get("name"))
                   for label, desired in zip(labels, desireds)]
        out["diff"] = [dict(r["diff"], before_header=header, after_header=header)
                       for header, r in zip(headers, results) if r["changed"]]
    if any(r.get("restart_required") for r in results):
        out["restart_required"] = True
    if warnings:
        out["warnings"] = warnings
    return out


def _refuse_duplicates(desireds, labels):
    """The batch is read once: a second item for one object would be planned on stale data."""
    seen = {}
    for label, desired in zip(labels, desireds):
        name = desired.get("name")
        if name in seen:
            raise InputError(label + ".name", "%r is already listed at %s" % (name, seen[name]))
        seen[name] = label


def _apply_many(services, plans, todo, workers, replan):
    """Apply the plans of the items in `todo`, up to `workers` at a time. After a failure no item
    that comes later in the list is started; the earlier ones always are, so that every item before
    the first failed one is done. An item that fails gets `replan(index)`: a new plan (stored in
    `plans`) when its object changed under it, applied once more. Returns {index: VirtcloudError}
    of the items that failed."""
    failed = {}
    lock = threading.Lock()

    def item(index):
        with lock:
            if failed and index > min(failed):
                return
        try:
            again = apply_or_replan(services[index], plans[index], lambda: replan(index))
            if again is not None:
                plans[index] = again[1]
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


def _item_error(exc, label, results):
    exc.msg = "%s: %s" % (label, exc.msg)
    exc.args = (exc.msg,)
    exc.details["results"] = results
    return exc


def run_batch(service_class, option, batch_class=Batch):
    """Entry point of a batch module file: `option` is the name of the list option whose items
    each take the options of `service_class`; the module's own argspec is that list, the
    task-level options of `batch_class` and the backend's connection options."""
    module = _batch_module(service_class, option, batch_class.options)

    def call():
        batch = batch_class(service_class, option, module.params)
        common = {name: module.params[name] for name in service_class.connection}
        items = validate_items(service_class, batch.items(module.params[option]), option)
        return execute_many(batch, [dict(item, **common) for item in items], module.check_mode, module._diff)

    finish(module, call)


def _batch_module(service_class, batch, options):
    """AnsibleModule for a batch module: the list option plus the task-level and connection
    options. The items are validated by `validate_items`, so AnsibleModule does not know which of
    their values are secrets: they are found first and masked everywhere, from the invocation
    log on."""
    from ansible.module_utils.basic import _load_params

    secrets = set()
    for item in (_load_params() or {}).get(batch) or []:
        secrets |= secret_values(service_class.options, item)
    spec = {name: opt.argspec() for name, opt in service_class.connection.items()}
    spec.update((name, opt.argspec()) for name, opt in options.items())
    spec[batch] = {"type": "list", "elements": "dict", "required": True}
    return masking_module(secrets, argument_spec=spec, supports_check_mode=True)
