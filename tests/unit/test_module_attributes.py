"""Every module's documented attributes are what the module does.

The documentation is read the way ansible-doc shows it (doc fragments applied, one `ansible-doc --json`
for all modules) and compared with:
- meta/runtime.yml - action_group membership is exactly the groups that list the module;
- the engine - the module's AnsibleModule is built with supports_check_mode as check_mode claims, the
  service declares the claimed check and diff support, and the engine's report has a diff exactly when
  diff_mode claims one (read-only *_info services and commands claim none);
- the argument spec - every option with an environment fallback names that variable, E(NAME), in its
  description (for modules ansible-test's validate-modules has no `env` key);
- the module list - every module has a seealso, and every seealso module exists.

The module's argument spec and service are taken from a run of its real `main()` up to the point where
AnsibleModule would be built."""

from __future__ import annotations

import importlib
import json
import os

import pytest
import yaml
from ansible.module_utils import basic

from ansible_collections.virtcloud.core.plugins.module_utils.common import batch as batch_engine
from ansible_collections.virtcloud.core.plugins.module_utils.common import engine
from ansible_collections.virtcloud.core.plugins.module_utils.common.engine import InfoService, Plan

from conftest import ROOT, VENV_BIN, sh  # noqa: E402

COLLECTION = "virtcloud.core"
MODULES = sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                 if f.endswith(".py") and not f.startswith("_"))


@pytest.fixture(scope="module")
def docs():
    proc = sh(os.path.join(VENV_BIN, "ansible-doc"), "--json", *(COLLECTION + "." + m for m in MODULES))
    return {name.split(".")[-1]: entry["doc"] for name, entry in json.loads(proc.stdout).items()}


@pytest.fixture(scope="module")
def groups():
    """module -> the fully qualified action groups of meta/runtime.yml that list it."""
    with open(os.path.join(ROOT, "meta", "runtime.yml"), encoding="utf-8") as handle:
        runtime = yaml.safe_load(handle)
    out = {}
    for group, members in runtime["action_groups"].items():
        for member in members:
            out.setdefault(member, []).append(COLLECTION + "." + group)
    return out


class Built(Exception):
    """Raised where the module would build its AnsibleModule, with what it would build it with."""

    def __init__(self, kwargs):
        super().__init__("AnsibleModule")
        self.kwargs = kwargs


def entry(module, monkeypatch):
    """(service class, AnsibleModule keyword arguments) of the module's real `main()`."""
    mod = importlib.import_module("ansible_collections.virtcloud.core.plugins.modules." + module)
    services = []
    for name in ("run", "run_batch"):
        real = getattr(mod, name, None)
        if real is not None:
            monkeypatch.setattr(mod, name, lambda cls, *args, real=real: services.append(cls) or real(cls, *args))

    def build(secrets, **kwargs):
        raise Built(kwargs)

    monkeypatch.setattr(engine, "masking_module", build)
    monkeypatch.setattr(batch_engine, "masking_module", build)
    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": {}}).encode())
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)  # ansible-core >= 2.19 only
    monkeypatch.setattr(basic, "_PARSED_MODULE_ARGS", None, raising=False)  # ansible-core >= 2.19 only
    with pytest.raises(Built) as built:
        mod.main()
    assert len(services) == 1, "%s: main() should run one service through the engine" % module
    return services[0], built.value.kwargs


def fallbacks(spec, docs_options, path=()):
    """(option path, environment variable, the option's documented description) of every option of
    the argument spec that falls back to the environment."""
    for name, option in spec.items():
        doc = (docs_options or {}).get(name) or {}
        description = doc.get("description") or ""
        if isinstance(description, list):
            description = " ".join(description)
        fallback = option.get("fallback")
        if fallback:
            for variable in fallback[1]:
                yield ".".join(path + (name,)), variable, description
        if option.get("options"):
            yield from fallbacks(option["options"], doc.get("suboptions"), path + (name,))


def diff_returned(service_class):
    """Whether the engine's report of this service has a diff, when diff mode is on."""
    service = service_class.__new__(service_class)
    service.facts = lambda state: state
    state = {"name": "a"}
    return "diff" in engine.report(service, state, Plan(state), state, True)


@pytest.mark.parametrize("module", MODULES)
def test_attributes_are_what_the_module_does(module, docs, groups, monkeypatch):
    doc = docs[module]
    attributes = doc["attributes"]
    service, kwargs = entry(module, monkeypatch)

    membership = sorted(groups.get(module, []))
    assert sorted(attributes["action_group"]["membership"]) == membership, module
    assert attributes["action_group"]["support"] == ("full" if membership else "none"), module

    platforms = attributes["platform"]["platforms"]
    assert (platforms if isinstance(platforms, list) else [platforms]) == ["posix"], module

    check, diff = attributes["check_mode"]["support"], attributes["diff_mode"]["support"]
    if module.endswith("_info") or issubclass(service, InfoService):
        assert (check, diff) == ("full", "none"), "%s reads only: check mode full, diff none" % module
    assert kwargs.get("supports_check_mode", False) == (check != "none"), module
    assert (check, diff) == (service.check_support, service.diff_support), \
        "%s documents check %s / diff %s, its service %s declares %s / %s" \
        % (module, check, diff, service.__name__, service.check_support, service.diff_support)
    assert diff_returned(service) == (diff != "none"), module
    if check == "partial":
        assert attributes["check_mode"].get("details"), "%s: partial check mode says what is left out" % module

    for option, variable, description in fallbacks(kwargs["argument_spec"], doc["options"]):
        assert "E(%s)" % variable in description, \
            "%s: option %s falls back to $%s; its description must name E(%s)" % (module, option, variable, variable)

    seealso = [item["module"] for item in doc.get("seealso") or [] if "module" in item]
    assert seealso, "%s has no seealso to a related module" % module
    missing = [name for name in seealso if name.split(".")[-1] not in MODULES or not name.startswith(COLLECTION + ".")]
    assert not missing, "%s: seealso names modules that do not exist: %s" % (module, missing)
    assert COLLECTION + "." + module not in seealso, module


def test_the_checks_see_env_fallbacks_and_diff_support():
    """The checks above have something to check: fallbacks are found, nested ones too, and a
    service's diff_support decides whether the engine returns a diff."""
    spec = {"a": {"type": "str", "fallback": (None, ["A_VAR"])},
            "b": {"type": "dict", "options": {"c": {"type": "str", "fallback": (None, ["C_VAR"])}}}}
    doc = {"a": {"description": ["x", "Else E(A_VAR)."]}, "b": {"description": "y", "suboptions": {"c": {}}}}
    assert list(fallbacks(spec, doc)) == [("a", "A_VAR", "x Else E(A_VAR)."), ("b.c", "C_VAR", "")]

    class Stateful(engine.Service):
        pass

    class Info(InfoService):
        pass

    assert diff_returned(Stateful) and not diff_returned(Info)
