import sys
import types
from importlib.metadata import EntryPoint

import pytest

from groot_sdk.plugins import EmbodimentEntry, Registry, UnknownNameError, hookimpl
from groot_sdk.spec import EmbodimentSpec, Group, Joint


def _module(name, **attrs):
    mod = types.ModuleType(name)
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


@pytest.fixture
def fake_plugins():
    spec = EmbodimentSpec(
        name="toy", joints=(Joint("a", -1, 1),), action_groups=(Group("arm", 0, 1),)
    )

    @hookimpl
    def groot_register_embodiments(register):
        register(EmbodimentEntry(spec=spec))

    @hookimpl(specname="groot_register_embodiments")
    def register_then_fail(register):
        half = EmbodimentSpec(
            name="half", joints=(Joint("a", -1, 1),), action_groups=(Group("arm", 0, 1),)
        )
        register(EmbodimentEntry(spec=half))
        raise RuntimeError("hardware table missing")

    _module("fake_good", groot_register_embodiments=groot_register_embodiments)
    _module("fake_raises", register_then_fail=register_then_fail)
    _module("fake_old_api", GROOT_PLUGIN_API=0)
    _module("fake_typo", groot_register_embodiment=hookimpl(lambda register: None))
    eps = [
        EntryPoint("good", "fake_good", "groot_sdk"),
        EntryPoint("missing", "fake_does_not_exist", "groot_sdk"),
        EntryPoint("raises", "fake_raises", "groot_sdk"),
        EntryPoint("old", "fake_old_api", "groot_sdk"),
        EntryPoint("typo", "fake_typo", "groot_sdk"),
    ]
    yield eps
    for m in ("fake_good", "fake_raises", "fake_old_api", "fake_typo"):
        sys.modules.pop(m, None)


def test_broken_plugins_are_reported_and_others_load(fake_plugins):
    reg = Registry(fake_plugins)
    assert "toy" in reg.embodiments()
    assert "half" not in reg.embodiments(), "a failing plugin's partial registrations roll back"
    assert {"zero", "hold"} <= set(reg.backends())
    errors = {f.plugin: f.error for f in reg.failures}
    assert "No module named 'fake_does_not_exist'" in errors["missing"]
    assert "hardware table missing" in errors["raises"]
    assert "written for plugin API 0" in errors["old"]
    assert "groot_register_embodiment" in errors["typo"]  # misspelled hook caught by check_pending
    assert set(errors) == {"missing", "raises", "old", "typo"}


def test_unknown_name_lists_known_and_failures(fake_plugins):
    reg = Registry(fake_plugins)
    with pytest.raises(UnknownNameError) as err:
        reg.embodiment("nope")
    assert "unknown embodiment 'nope'; known: ['toy']" in str(err.value)
    assert "plugin 'missing'" in str(err.value)


def test_strict_mode_raises(fake_plugins, monkeypatch):
    from groot_sdk.errors import PluginLoadError

    monkeypatch.setenv("GROOT_STRICT_PLUGINS", "1")
    with pytest.raises(PluginLoadError, match="plugin 'missing'"):
        Registry(fake_plugins).embodiments()


def test_allow_list_and_disable(monkeypatch):
    monkeypatch.setenv("GROOT_PLUGINS", "so101")
    assert set(Registry().embodiments()) == {"so101"}
    monkeypatch.setenv("GROOT_DISABLE_PLUGIN_AUTOLOAD", "1")
    reg = Registry()
    assert reg.embodiments() == {} and "zero" in reg.backends()


def test_installed_plugins():
    reg = Registry()
    assert set(reg.embodiments()) >= {"bhl", "so101", "g1_inspire", "fetch"}
    assert reg.embodiment("so101").plugin == "so101"
    assert reg.failures == []


def test_conformance_kit_resolves_every_declared_entry_point(tmp_path, monkeypatch):
    """Issue 13 finding 1: fetch declared hardware='groot_sdk_fetch.driver:make_hardware', a
    module it never shipped, and the kit passed it. check_entry_points (and the kit's
    test_entry_points_resolve) fails such a plugin; a missing third-party dependency of a
    module that does ship is returned instead (an extra may not be installed)."""
    from groot_sdk.plugins import BackendEntry
    from groot_sdk.testing import EmbodimentConformance, check_entry_points

    spec = EmbodimentSpec(
        name="toy", joints=(Joint("a", -1, 1),), action_groups=(Group("arm", 0, 1),)
    )
    with pytest.raises(AssertionError, match="groot_sdk_fetch.driver.*does not ship"):
        check_entry_points(EmbodimentEntry(spec=spec, hardware="groot_sdk_fetch.driver:make"))
    with pytest.raises(AssertionError, match="no_such_factory"):
        check_entry_points(EmbodimentEntry(spec=spec, sim="groot_sdk.sim:no_such_factory"))
    with pytest.raises(AssertionError, match="backend 'ghost'"):
        check_entry_points(
            EmbodimentEntry(spec=spec), [BackendEntry("ghost", "toy_ghost_pkg.backend:make")]
        )
    (tmp_path / "toy_needs_dep.py").write_text("import toy_dep_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    missing = check_entry_points(EmbodimentEntry(spec=spec, sim="toy_needs_dep:make"))
    assert missing == ["sim 'toy_needs_dep:make': needs toy_dep_not_installed"]
    # the kit's own test runs it for every installed embodiment
    for name in Registry().embodiments():
        kit = type("Kit", (EmbodimentConformance,), {"embodiment": name})()
        kit.test_entry_points_resolve()
