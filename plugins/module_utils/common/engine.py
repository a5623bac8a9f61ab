# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one engine every stateful virtcloud module runs on.

    desired  -> the module's options, validated and normalised (no backend touched yet)
    observed -> the live object read through the backend API, normalised the same way
    plan     -> the differences and the ordered steps that remove them
    apply    -> the steps run, unless in check mode (this is the single mutation point);
                a step that fails rolls back the steps of this run that can be undone
    report   -> changed, actions, diff (before/after), facts, warnings, restart_required

A backend service (docker container, libvirt domain, ...) is a subclass of `Service` that declares
its option table and implements `observe` and `plan`; module files only call `run(Service)`.
"""

from __future__ import annotations

import contextlib
import copy
import traceback

from .errors import BackendError, InputError, MissingDependency, VirtcloudError

SECRET = "********"


class Opt:
    """One module option: its argument spec and how the engine compares it.

    update -- how a difference in this option is applied to an existing object:
              'recreate' (the object is replaced), 'live' (changed in place),
              'restart' (persistent config changes; takes effect on restart), or
              None when the option is an instruction rather than a property (state, force, ...).
    compare -- 'equal', or 'set' where order has no meaning.
    """

    def __init__(self, type="str", default=None, required=False, choices=None, elements=None,
                 options=None, no_log=False, aliases=None, fallback=None,
                 update="recreate", compare="equal"):
        self.type = type
        self.default = default
        self.required = required
        self.choices = choices
        self.elements = elements
        self.options = options
        self.no_log = no_log
        self.aliases = aliases
        self.fallback = fallback
        self.update = update
        self.compare = compare

    def argspec(self):
        spec = {"type": self.type}
        for key in ("default", "choices", "elements", "aliases", "fallback"):
            value = getattr(self, key)
            if value is not None:
                spec[key] = value
        if self.required:
            spec["required"] = True
        if self.no_log:
            spec["no_log"] = True
        if self.options is not None:
            spec["options"] = {name: opt.argspec() for name, opt in self.options.items()}
        return spec


class Change:
    """One managed option whose observed value differs from the desired one."""

    def __init__(self, option, before, after, update):
        self.option = option
        self.before = before
        self.after = after
        self.update = update

    def __repr__(self):
        return "Change(%s: %r -> %r, %s)" % (self.option, self.before, self.after, self.update)


def normalise(value, compare="equal"):
    if compare == "set" and isinstance(value, (list, tuple)):
        return sorted(value, key=repr)
    return value


def differences(options, desired, observed):
    """Changes for every updatable option the user set (None means 'not managed')."""
    changes = []
    for name, opt in options.items():
        if opt.update is None:
            continue
        want = desired.get(name)
        if want is None:
            continue
        have = (observed or {}).get(name)
        if normalise(want, opt.compare) != normalise(have, opt.compare):
            changes.append(Change(name, have, want, opt.update))
    return changes


class Step:
    def __init__(self, description, do, undo=None):
        self.description = description
        self.do = do
        self.undo = undo


class Plan:
    """What must happen to turn observed into desired, and the state it predicts."""

    def __init__(self, observed, after=None):
        self.steps = []
        self.changes = []
        self.warnings = []
        self.restart_required = False
        self.after = copy.deepcopy(observed) if after is None else after

    @classmethod
    def removal(cls, observed, description, do):
        """The plan of state=absent: one removal step when the object exists; nothing is left."""
        plan = cls(observed)
        plan.after = None
        if observed is not None:
            plan.step(description, do)
        return plan

    def step(self, description, do, undo=None):
        self.steps.append(Step(description, do, undo))

    def include(self, other):
        """Append the steps and findings of another plan (batch modules: one plan per item)."""
        self.steps.extend(other.steps)
        self.changes.extend(other.changes)
        self.warnings.extend(other.warnings)
        self.restart_required = self.restart_required or other.restart_required

    @property
    def changed(self):
        return bool(self.steps)


class Service:
    """Base of every backend service. Subclasses set the class attributes and implement
    `observe` and `plan`; they know their backend and nothing about Ansible results."""

    options = {}          # the module's own options: name -> Opt
    connection = {}       # options shared by every module of the backend (doc fragment)
    result_key = "object"  # key under which the object's facts are returned; None: top-level
    requirements = ()     # (library, pip requirement, ImportError or None)
    module_kwargs = {}    # mutually_exclusive, required_if, ... for AnsibleModule

    def __init__(self, params):
        self.params = params

    @classmethod
    def argument_spec(cls):
        spec = {name: opt.argspec() for name, opt in cls.connection.items()}
        spec.update((name, opt.argspec()) for name, opt in cls.options.items())
        return spec

    def check_requirements(self):
        for library, pip_name, error in self.requirements:
            if error is not None:
                raise MissingDependency(library, pip_name, error)

    def translate(self, exc):
        """Map an exception of the backend library to a VirtcloudError; None leaves it alone."""
        return None

    def desired(self):
        """Validate and normalise the options. Must not touch the backend."""
        return dict(self.params)

    def connect(self):
        pass

    def observe(self, desired):
        raise NotImplementedError

    def share_connection(self, other):
        """Batch mode: reuse the connection `other` opened instead of opening one more."""
        self.connect()

    @classmethod
    def observe_many(cls, services, desireds):
        """Batch mode: the observed state of every item. Override to read them all at once."""
        return [service.observe(desired) for service, desired in zip(services, desireds)]

    def plan(self, desired, observed):
        raise NotImplementedError

    def facts(self, state):
        return state

    def secrets(self):
        return [name for name, opt in self.options.items() if opt.no_log]


class InfoService(Service):
    """Base of the read-only *_info services: observing is the whole job, so nothing is ever
    planned and check mode runs them unchanged. Combine with a backend base, e.g.
    ``class NetworkInfoService(InfoService, LibvirtService)``."""

    def plan(self, desired, observed):
        return Plan(observed)


@contextlib.contextmanager
def translated(service):
    try:
        yield
    except VirtcloudError:
        raise
    except Exception as exc:
        error = service.translate(exc)
        if error is None:
            raise
        raise error from exc


def mask(data, secret_keys):
    if not isinstance(data, dict):
        return data
    return {k: (SECRET if k in secret_keys and v is not None else v) for k, v in data.items()}


def _rollback(done):
    problems = []
    for step in reversed(done):
        if step.undo is None:
            continue
        try:
            step.undo()
        except Exception as exc:  # keep rolling back the rest
            problems.append("%s: %s" % (step.description, exc))
    return problems


def execute(service, check_mode=False, diff=False):
    """Run one service through desired -> observed -> plan -> apply -> report; return the result."""
    service.check_requirements()
    desired = service.desired()
    with translated(service):
        service.connect()
        observed = service.observe(desired)
    return _plan_apply_report(service, desired, observed, check_mode, diff)


def _plan_apply_report(service, desired, observed, check_mode, diff):
    with translated(service):
        plan = service.plan(desired, observed)
        after = plan.after
        if plan.steps and not check_mode:
            done = []
            for step in plan.steps:
                try:
                    step.do()
                except Exception as exc:
                    undone = [s.description for s in done if s.undo]
                    problems = _rollback(done)
                    error = exc if isinstance(exc, VirtcloudError) else service.translate(exc)
                    if error is None:
                        error = BackendError("%s: %s" % (type(exc).__name__, exc))
                    error.msg = "%s failed: %s" % (step.description, error.msg)
                    if undone:
                        error.msg += " (rolled back: %s)" % ", ".join(undone)
                    if problems:
                        error.msg += " (rollback problems: %s)" % "; ".join(problems)
                    error.args = (error.msg,)
                    error.details.setdefault("actions", [s.description for s in done])
                    raise error
                done.append(step)
            after = service.observe(desired)

    secret_keys = service.secrets()
    facts = mask(service.facts(after), secret_keys) if after is not None else {}
    result = {"changed": plan.changed, "actions": [step.description for step in plan.steps]}
    if service.result_key is None:  # command-like modules (exec, info) return their facts top-level
        result.update(facts)
    else:
        result[service.result_key] = facts
    if plan.restart_required:
        result["restart_required"] = True
    if plan.warnings:
        result["warnings"] = list(plan.warnings)
    if diff:
        result["diff"] = {
            "before": mask(service.facts(observed), secret_keys) if observed is not None else {},
            "after": mask(service.facts(plan.after), secret_keys) if plan.after is not None else {},
        }
    return result


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
    """Reconcile many objects of one kind in one task: every item is validated before anything is
    touched, one connection serves all, `service_class.observe_many` observes them together (one
    listing call where the backend has one), then each item is planned and applied exactly as
    `execute` does for a single object. Returns {changed, actions (all items'), results (one
    `execute` result per item), [restart_required], [warnings]}.

    An item that fails rolls back its own steps; the items before it stay done (a rerun finishes
    the batch) and are returned in the error's `results`."""
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
    results, warnings = [], []
    for index, (service, desired, have) in enumerate(zip(services, desireds, observed)):
        try:
            result = _plan_apply_report(service, desired, have, check_mode, diff)
        except VirtcloudError as exc:
            exc.msg = "%s[%d]: %s" % (option, index, exc.msg)
            exc.args = (exc.msg,)
            exc.details["results"] = results
            raise
        warnings.extend(result.pop("warnings", []))
        results.append(result)
    out = {"changed": any(r["changed"] for r in results),
           "actions": [action for r in results for action in r["actions"]], "results": results}
    if any(r.get("restart_required") for r in results):
        out["restart_required"] = True
    if warnings:
        out["warnings"] = warnings
    return out


def run(service_class, batch=None):
    """Entry point of a module file: argspec, connect, observe, plan, apply, report.

    batch -- the name of a list option whose items each take the options of `service_class`
             (a batch module such as `domains`); the module's own argspec is then that list plus
             the backend's connection options."""
    from ansible.module_utils.basic import AnsibleModule

    if batch:
        module = _batch_module(service_class, batch)
    else:
        module = AnsibleModule(argument_spec=service_class.argument_spec(),
                               supports_check_mode=True, **service_class.module_kwargs)
    try:
        if batch:
            common = {name: module.params[name] for name in service_class.connection}
            items = validate_items(service_class, module.params[batch], batch)
            result = execute_many(service_class, [dict(item, **common) for item in items],
                                  module.check_mode, module._diff, option=batch)
        else:
            result = execute(service_class(module.params), module.check_mode, module._diff)
    except VirtcloudError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except Exception as exc:  # a bug of ours: keep the traceback for -vvv, not in msg
        module.fail_json(msg="unexpected error: %s: %s" % (type(exc).__name__, exc),
                         exception=traceback.format_exc())
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)


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
