# -*- coding: utf-8 -*-
# Copyright: virtcloud.core contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one engine every stateful virtcloud module runs on.

    desired  -> the module's options, validated and normalised (no backend touched yet)
    observed -> the live object read through the backend API, normalised the same way
    resolved -> the desired state completed by the lookups planning needs (an image's ID, whether
                a referenced network exists, a volume's format, what the host can run)
    plan     -> the differences and the ordered steps that remove them
    apply    -> the steps run, unless in check mode (this is the single mutation point);
                a step that fails rolls back the steps of this run that can be undone
    report   -> changed, actions, diff (before/after), facts, warnings, restart_required

A backend service (docker container, libvirt domain, ...) is a subclass of `Service` that declares
its option table and implements `observe`, `plan` and, where planning needs lookups, `resolve`;
module files only call `run(Service)`. Data flows one way: each step returns its result and changes
nothing else (not the desired state, not the service), so a batch (common/batch.py) runs the very
same steps for many items.
"""

from __future__ import annotations

import contextlib
import copy
import re
import traceback

from .errors import BackendError, InputError, MissingDependency, VirtcloudError

SECRET = "********"


class Opt:
    """One module option: its argument spec and how the engine compares it.

    update -- how a difference in this option is applied to an existing object:
              None (the default): not compared, the option is an instruction rather than a
              property of the object (state, force, timeouts, ...) or is compared by the
              service itself;
              'live' (changed in place), 'restart' (persistent config changes; takes effect on
              restart), or 'recreate' (the object is replaced: say so explicitly).
    compare -- 'equal', or 'set' where order has no meaning.
    parse   -- how a value the user set becomes the desired one: a function (value, option name)
               -> normalised value that raises InputError naming the option; None keeps the
               value as given. `Service.parsed()` applies the whole table.
    """

    def __init__(self, type="str", default=None, required=False, choices=None, elements=None,
                 options=None, no_log=None, aliases=None, fallback=None,
                 update=None, compare="equal", parse=None):
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
        self.parse = parse

    def argspec(self):
        spec = {"type": self.type}
        for key in ("default", "choices", "elements", "aliases", "fallback"):
            value = getattr(self, key)
            if value is not None:
                spec[key] = value
        if self.required:
            spec["required"] = True
        if self.no_log is not None:  # False stated for a name that only sounds secret (ssh_keys: public keys)
            spec["no_log"] = self.no_log
        if self.options is not None:
            spec["options"] = {name: opt.argspec() for name, opt in self.options.items()}
        return spec


def name_opt(**kwargs):
    """The `name` row of every object module: required, identifies the object, never compared."""
    return Opt(required=True, **kwargs)


def state_opt(choices, default="present"):
    """The `state` row of every object module: what should become of the object."""
    return Opt(default=default, choices=list(choices))


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


COMPARISONS = ("strict", "allow_more_present", "ignore")


def contains(have, want):
    """Whether the observed value holds everything the desired one names: every key of a dict
    with the same value, every element of a list."""
    if isinstance(want, dict) and isinstance(have, dict):
        return all(key in have and have[key] == value for key, value in want.items())
    if isinstance(want, (list, tuple)) and isinstance(have, (list, tuple)):
        return all(item in have for item in want)
    return want == have


def comparisons(value, options, option="comparisons", extra=()):
    """A user's `comparisons` ({option or '*': strict | allow_more_present | ignore}) checked
    against the option table: only compared options (and `extra` names), allow_more_present only
    for lists and dicts, '*' only strict or ignore."""
    if value is None:
        return {}
    compared = {name for name, opt in options.items() if opt.update is not None} | set(extra)
    out = {}
    for key, how in value.items():
        if how not in COMPARISONS:
            raise InputError(option, "%s: %r is not one of %s" % (key, how, ", ".join(COMPARISONS)))
        if key == "*":
            if how == "allow_more_present":
                raise InputError(option, "'*' takes strict or ignore; allow_more_present applies to a list or dict option")
        elif key not in compared:
            raise InputError(option, "%r is not an option this module compares; choose from %s"
                             % (key, ", ".join(sorted(compared))))
        elif how == "allow_more_present" and key in options and options[key].type not in ("list", "dict"):
            raise InputError(option, "%s: allow_more_present applies to list and dict options only" % key)
        out[key] = how
    return out


def differences(options, desired, observed, how=None):
    """Changes for every updatable option the user set (None means 'not managed'). `how`: the
    checked comparisons of the task (option -> strict | allow_more_present | ignore; '*' the
    default for the rest, strict when not given)."""
    how = how or {}
    changes = []
    for name, opt in options.items():
        if opt.update is None:
            continue
        want = desired.get(name)
        comparison = how.get(name, how.get("*", "strict"))
        if want is None or comparison == "ignore":
            continue
        have = (observed or {}).get(name)
        if comparison == "allow_more_present" and contains(have, want):
            continue
        if normalise(want, opt.compare) != normalise(have, opt.compare):
            changes.append(Change(name, have, want, opt.update))
    return changes


class Step:
    """One action of a plan.

    undo    -- puts back what the step changed, for the rollback of a run that fails later
    undone  -- what the undo leaves behind, for the error message (default: the description)
    partial -- the step can fail after it has changed something (a volume created, then its
               upload stopped halfway): when it fails, its own undo runs first, before the
               rollback of the steps before it. Such an undo must accept any state between
               "nothing done" and "all done" (the object may not exist yet).
    """

    def __init__(self, description, do, undo=None, undone=None, partial=False):
        if partial and undo is None:
            raise ValueError("step %r: a partial step needs the undo that removes its partial work" % description)
        self.description = description
        self.do = do
        self.undo = undo
        self.undone = undone or description
        self.partial = partial


class Plan:
    """What must happen to turn observed into desired, and the state it predicts.

    outcome -- None: the run changed something exactly when the plan has steps (the rule).
               A tuple of keys of the state: for steps whose effect may turn out to be nothing
               (docker_image with force rebuilds, and the cache may give the very same image),
               `changed` is whether one of these keys differs between the state before and the
               state after: observed again after a real run, `after` in check mode (where a
               value that cannot be known beforehand, such as a new image ID, is predicted
               as None and so counts as a change).
    """

    def __init__(self, observed, after=None):
        self.steps = []
        self.changes = []
        self.warnings = []
        self.restart_required = False
        self.outcome = None
        self.after = copy.deepcopy(observed) if after is None else after

    @classmethod
    def removal(cls, observed, description, do):
        """The plan of state=absent: one removal step when the object exists; nothing is left."""
        plan = cls(observed)
        plan.after = None
        if observed is not None:
            plan.step(description, do)
        return plan

    def step(self, description, do, undo=None, undone=None, partial=False):
        self.steps.append(Step(description, do, undo, undone, partial))

    def include(self, other):
        """Append the steps and findings of another plan (batch modules: one plan per item)."""
        self.steps.extend(other.steps)
        self.changes.extend(other.changes)
        self.warnings.extend(other.warnings)
        self.restart_required = self.restart_required or other.restart_required

    @property
    def changed(self):
        return bool(self.steps)

    def changed_between(self, before, after):
        """Whether this plan changed the object, given the state before and after it (see `outcome`)."""
        if not self.steps or self.outcome is None:
            return self.changed
        if before is None or after is None:
            return (before is None) != (after is None)
        return any(before.get(key) != after.get(key) for key in self.outcome)


class Service:
    """Base of every backend service. Subclasses set the class attributes and implement
    `observe` and `plan`; they know their backend and nothing about Ansible results."""

    options = {}          # the module's own options: name -> Opt
    connection = {}       # options shared by every module of the backend (doc fragment)
    result_key = "object"  # key under which the object's facts are returned; None: top-level
    requirements = ()     # (library, pip requirement, ImportError or None)
    module_kwargs = {}    # mutually_exclusive, required_if, ... for AnsibleModule
    batch_workers = 1     # batch modules (common/batch.py): how many items are applied at a time
    # set by the engine before `desired`: True when the run only predicts. A service whose steps
    # check what they read (digests computed while copying) makes the same checks in `resolve`
    # then, so that check mode predicts their failure too
    check_mode = False
    # what the module's documented attributes (doc_fragments/attributes.py) claim, checked by
    # tests/unit/test_module_attributes.py: check mode predicts exactly ('full'), and the result
    # has a diff ('full') or none ('none': `report` leaves it out)
    check_support = "full"
    diff_support = "full"

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
        return self.parsed()

    def parsed(self):
        """Every option of the table, parsed by its `parse` where the user set it."""
        out = {}
        for name, opt in self.options.items():
            value = self.params.get(name)
            out[name] = opt.parse(value, name) if opt.parse is not None and value is not None else value
        return out

    def connect(self):
        pass

    def observe(self, desired, batch=None):
        """The live object, normalised, or None when it does not exist. Reads only. In a batch,
        `batch` is what `read_batch` returned, shared by every item."""
        raise NotImplementedError

    def resolve(self, desired, observed, batch=None):
        """The lookups planning needs (referenced objects, IDs, formats, host capabilities), as
        the desired state completed by them: a new dict, or `desired` itself when there is
        nothing to look up. Reads only; a missing reference is an InputError naming the option."""
        return desired

    def share_connection(self, other):
        """Batch mode: reuse the connection `other` opened instead of opening one more."""
        self.connect()

    @classmethod
    def read_batch(cls, service, desireds):
        """Batch mode: what one read can tell about every item (a listing call), handed to each
        item's `observe` and `resolve` as `batch`; called again for the changed items after
        the changes. None where the backend has no such call."""
        return None

    def plan(self, desired, observed):
        raise NotImplementedError

    def facts(self, state):
        return state

    def settle(self, state):
        """After a real run (never in check mode): wait for what the task asks of the object now
        (libvirt_domain's wait_for); the result keys that says. Reads only."""
        return {}

    def secrets(self):
        return [name for name, opt in self.options.items() if opt.no_log]

    @classmethod
    def secret_values(cls, params):
        """Secrets in the raw arguments that the argument spec cannot mark no_log: values of an
        option that takes another service's options as a free-form dict (ova_import's `domain`).
        They are masked from the invocation log on."""
        return set()


class InfoService(Service):
    """Base of the read-only *_info services: observing is the whole job, so nothing is ever
    planned and check mode runs them unchanged. Combine with a backend base, e.g.
    ``class NetworkInfoService(InfoService, LibvirtService)``."""

    diff_support = "none"  # before and after are the same read

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


def _rollback(steps):
    """Undo the steps, last first: (what each successful undo left, problems, the steps whose
    change stays: no undo, or an undo that failed)."""
    undone, problems, kept = [], [], []
    for step in reversed(steps):
        if step.undo is None:
            kept.append(step)
            continue
        try:
            step.undo()
        except Exception as exc:  # keep rolling back the rest
            problems.append("%s: %s" % (step.description, exc))
            kept.append(step)
        else:
            undone.append(step.undone)
    return undone[::-1], problems, kept


def execute(service, check_mode=False, diff=False):
    """Run one service through desired -> observed -> plan -> apply -> report; return the result.

    When the apply fails on an object that another run changed meanwhile (two runs of one task
    side by side: both saw nothing and both create, and the second is told 'already exists'), the
    object is observed, resolved and planned again as it is now, and that plan applied once."""
    service.check_requirements()
    service.check_mode = check_mode
    desired = service.desired()
    with translated(service):
        service.connect()
        observed = service.observe(desired)
        want = service.resolve(desired, observed)
        plan = service.plan(want, observed)
        after = plan.after
        if plan.steps and not check_mode:
            def replan():
                have = service.observe(desired)
                if facts_of(service, have) == facts_of(service, observed):
                    return None
                return have, service.plan(service.resolve(desired, have), have)

            again = apply_or_replan(service, plan, replan)
            if again is not None:
                observed, plan = again
            after = service.observe(desired)
        result = report(service, observed, plan, after, diff)
        if not check_mode and after is not None:
            result.update(service.settle(after))
    return result


def facts_of(service, state):
    return None if state is None else service.facts(state)


def apply_or_replan(service, plan, replan):
    """`apply(service, plan)`; when it fails, `replan()` may give (observed, plan) for an object
    that is no longer what was observed: that plan is applied once and the pair returned.
    Returns None when the first plan applied. The first failure stands when `replan` gives None,
    and when a step of this run had completed before the one that failed: the object may then
    differ because of this run (an image built, a network restored with a new ID), not another
    one, and a retry would only repeat the failure."""
    try:
        apply(service, plan)
        return None
    except VirtcloudError as exc:
        if exc.details.get("changed") or exc.details.get("actions"):
            raise
        again = replan()
        if again is None:
            raise
    apply(service, again[1])
    return again


def apply(service, plan):
    """Run the steps of a plan. A failing step removes its own partial work (a `partial` step),
    rolls back the steps of this run that can be undone and raises a VirtcloudError that says
    what failed and what was rolled back. Its details say what ran: `actions` (the steps that
    completed) and `changed` (whether a change of this run stays: a step without an undo, or
    an undo that failed)."""
    done = []
    for step in plan.steps:
        try:
            step.do()
        except Exception as exc:
            undone, problems, kept = _rollback(done + [step] if step.partial else done)
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
            error.details["changed"] = error.details.get("changed", False) or bool(kept)
            raise error
        done.append(step)


def report(service, observed, plan, after, diff):
    """The module result of one object: changed, actions, facts, restart_required, warnings, diff."""
    secret_keys = service.secrets()
    facts = mask(service.facts(after), secret_keys) if after is not None else {}
    result = {"changed": plan.changed_between(observed, after), "actions": [step.description for step in plan.steps]}
    if service.result_key is None:  # command-like modules (exec, info) return their facts top-level
        result.update(facts)
    else:
        result[service.result_key] = facts
    if plan.restart_required:
        result["restart_required"] = True
    if plan.warnings:
        result["warnings"] = list(plan.warnings)
    if diff and service.diff_support != "none":  # after: what was read back after a real run, the prediction in check mode
        result["diff"] = {
            "before": mask(service.facts(observed), secret_keys) if observed is not None else {},
            "after": facts,
        }
    return result


def secret_values(options, params):
    """The values of the no_log options (nested ones too) among `params`, raw arguments
    given to `options`."""
    found = set()
    if not isinstance(params, dict):
        return found
    for name, opt in options.items():
        value = params.get(name)
        if value is None:
            continue
        if opt.no_log:
            found.add(str(value))
        elif opt.options:
            for entry in value if isinstance(value, list) else [value]:
                found |= secret_values(opt.options, entry)
    return found


def masking_module(secrets, **kwargs):
    """AnsibleModule(**kwargs) that masks `secrets` everywhere, from the invocation log on."""
    from ansible.module_utils.basic import AnsibleModule

    class MaskingModule(AnsibleModule):
        def _log_invocation(self):
            self.no_log_values.update(secrets)
            super()._log_invocation()

        def fail_json(self, msg=None, **kwargs):  # pylint: disable=arguments-differ
            super().fail_json(msg=_named(getattr(self, "validation_result", None), msg), **kwargs)

    module = MaskingModule(**kwargs)
    module.no_log_values.update(secrets)  # also when invocation logging is off
    return module


def _named(checked, msg):
    """ansible-core reports only the first problem of its argument check, and for a list given to a
    dict option that is "dictionary requested, could not parse JSON or key=value", which names no
    option; the problems after it do. When the first names no option, every problem is given."""
    if checked is None or not checked.error_messages or msg != checked.errors.msg:
        return msg
    if re.search(r"'[^']+'", msg):
        return msg
    return "; ".join(dict.fromkeys(checked.error_messages))


def run(service_class):
    """Entry point of a module file: argspec, connect, observe, plan, apply, report."""
    from ansible.module_utils.basic import _load_params

    module = masking_module(service_class.secret_values(_load_params() or {}),
                            argument_spec=service_class.argument_spec(),
                            supports_check_mode=True, **service_class.module_kwargs)
    finish(module, lambda: execute(service_class(module.params), module.check_mode, module._diff))


def failure(exc):
    """The result keys of a failed run besides `msg`: the error's details, with what ran. A batch's
    error carries the `results` of the items done before the failing one: their actions come
    first, and the run changed something when one of them did or the failing item's own change
    stays (see `apply`)."""
    details = dict(exc.details)
    results = details.get("results") or []
    if results or "actions" in details:
        details["actions"] = [a for r in results for a in r.get("actions", [])] + details.get("actions", [])
    details["changed"] = bool(details.get("changed")) or any(r.get("changed") for r in results)
    return details


def finish(module, call):
    """Exit the module with the result of `call()`, or fail with the error it raised."""
    try:
        result = call()
    except VirtcloudError as exc:
        module.fail_json(msg=exc.msg, **failure(exc))
    except Exception as exc:  # a bug of ours: keep the traceback for -vvv, not in msg
        module.fail_json(msg="unexpected error: %s: %s" % (type(exc).__name__, exc),
                         exception=traceback.format_exc())
    for warning in result.pop("warnings", []):
        module.warn(warning)
    module.exit_json(**result)
