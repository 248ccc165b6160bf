"""The conformance kit: checks any embodiment plugin can run on itself.

In a plugin's tests::

    from groot_sdk.testing import EmbodimentConformance

    class TestConformance(EmbodimentConformance):
        embodiment = "my_robot"

pytest then collects every ``test_*`` method below for that embodiment. The helpers
(:func:`check_spec`, :func:`check_roundtrip`, ...) can be called on their own too.
"""

from __future__ import annotations

import json

import attrs
import numpy as np

from groot_sdk.embodiment import mock_embodiment
from groot_sdk.errors import SpecError
from groot_sdk.modality import (
    ModalityLayout,
    check_consistency,
    lerobot_features,
    modality_json,
    n16_modality_config,
)
from groot_sdk.plugins import EmbodimentEntry, get_registry
from groot_sdk.policy.simple import HoldPolicy
from groot_sdk.spec import EmbodimentSpec, validate


def check_spec(spec: EmbodimentSpec) -> None:
    """The spec validates and its derived views agree."""
    validate(spec)
    assert len(spec.joint_names) == spec.dof
    for j in spec.joints:
        assert np.isfinite([j.lower, j.upper, j.default]).all(), j.name


def check_generated(spec: EmbodimentSpec) -> None:
    """modality.json, N1.5, N1.6 and LeRobot features describe one layout, and are JSON."""
    check_consistency(spec)
    for doc in (modality_json(spec), n16_modality_config(spec), lerobot_features(spec)):
        json.loads(json.dumps(doc))


def check_roundtrip(spec: EmbodimentSpec) -> None:
    """modality.json slices rebuild the spec's groups; the layout survives JSON."""
    doc = json.loads(json.dumps(modality_json(spec)))
    names = list(spec.joint_names)
    for g in spec.action_groups:
        entry = doc["action"][g.key]
        assert names[entry["start"] : entry["end"]] == list(spec.joint_names[g.slice]), g.key
    layout = ModalityLayout.from_spec(spec)
    assert ModalityLayout.from_json(json.loads(json.dumps(layout.to_json()))) == layout
    features = lerobot_features(spec)
    assert features["action"]["names"] == names
    assert features["observation.state"]["names"] == list(spec.state_names)


def check_mock_loop(spec: EmbodimentSpec, steps: int = 5) -> None:
    """Mock hardware goes through the lifecycle and accepts hold actions in joint order."""
    robot = mock_embodiment(spec)
    policy = HoldPolicy(spec)
    with robot:
        robot.enable()
        for _ in range(steps):
            joints = robot.read_joints()
            state = robot.read_state(joints)
            obs = {
                f"state.{g.key}": state[g.slice][None].astype(np.float32)
                for g in spec.observed_state_groups
            }
            chunk = policy.get_action(obs)
            target = np.concatenate([chunk[f"action.{g.key}"][0] for g in spec.action_groups])
            assert target.shape == (spec.dof,)
            if spec.state_dims is None:
                robot.write(target)
                assert np.allclose(robot.read_joints().position, target)
        errors = robot.safe_stop()
        assert not errors, errors


def run_through_deployer(
    spec: EmbodimentSpec,
    make,
    policy: str,
    seconds: float = 10.0,
    sample=None,
    **options,
):
    """Run backend ``policy`` on ``make(render)`` through the SDK's deployer, lock-step and as
    fast as the simulator goes, rendering only when the policy takes video (as ``groot run``
    does). ``sample(robot)`` is recorded at every tick (default: the joint positions).
    Returns ``(robot, report, samples)``.
    """
    from groot_sdk.deploy.loop import DeployConfig, RealtimeDeployer
    from groot_sdk.policy.factory import make_backend

    backend = make_backend(policy, spec, options)
    robot = make(bool(backend.layout.video))
    robot.connect()
    sample = sample or (lambda r: r.read_joints().position)
    seen: list = []
    config = DeployConfig(rate_hz=0, seconds=seconds, status_every=1e-9)  # every tick
    deployer = RealtimeDeployer(
        robot, backend, config, on_status=lambda _: seen.append(sample(robot))
    )
    try:
        return robot, deployer.run(), np.array(seen)
    finally:
        robot.close()


def assert_within_limits(spec: EmbodimentSpec, positions: np.ndarray, tol: float = 0.0) -> None:
    """Every row of ``positions`` (ticks x joints) lies within the joint limits (+- ``tol``);
    the failure names the joints that left them."""
    lo, hi = np.array(spec.lower) - tol, np.array(spec.upper) + tol
    out = np.flatnonzero(((positions < lo) | (positions > hi)).any(axis=0))
    assert not len(out), [spec.joint_names[i] for i in out]


def check_entry_points(entry: EmbodimentEntry, backends=()) -> list[str]:
    """Every factory the plugin declares (``sim``, ``hardware``, its backends' factories)
    resolves: its module imports and the attribute exists. A module the plugin names but
    does not ship fails (``groot list`` would promise a driver ``groot run`` cannot load); a
    missing third-party dependency of a resolvable module is returned (one line each) instead,
    since an extra may legitimately not be installed."""
    from groot_sdk.plugins.entries import resolve

    declared = [("sim", entry.sim), ("hardware", entry.hardware)]
    declared += [(f"backend '{b.name}'", b.factory) for b in backends]
    missing_deps: list[str] = []
    for what, factory in declared:
        if factory is None or callable(factory):
            continue
        module = factory.partition(":")[0]
        try:
            obj = resolve(factory)
        except ModuleNotFoundError as exc:
            own = exc.name is not None and (module == exc.name or module.startswith(exc.name + "."))
            if own:
                raise AssertionError(
                    f"{entry.name}: {what} '{factory}' names module {exc.name}, which the "
                    "plugin does not ship"
                ) from None
            missing_deps.append(f"{what} '{factory}': needs {exc.name}")
            continue
        except AttributeError as exc:
            raise AssertionError(f"{entry.name}: {what} '{factory}': {exc}") from None
        assert callable(obj), f"{entry.name}: {what} '{factory}' is not callable"
    return missing_deps


def _expect_spec_error(build, culprit: str) -> None:
    try:
        build()
    except SpecError as exc:
        assert culprit in str(exc), f"error does not name '{culprit}': {exc}"
        return
    raise AssertionError(f"a broken spec naming '{culprit}' was accepted")


class EmbodimentConformance:
    """Subclass with ``embodiment = "<name>"``; pytest collects the checks below."""

    embodiment: str = ""

    def _entry(self) -> EmbodimentEntry:
        assert self.embodiment, "set `embodiment = '<name>'` on the conformance test class"
        return get_registry().embodiment(self.embodiment)

    def test_registered_without_failures(self):
        entry = self._entry()
        failures = [f for f in get_registry().failures if f.plugin == entry.plugin]
        assert not failures, failures

    def test_entry_points_resolve(self):
        entry = self._entry()
        backends = [b for b in get_registry().backends().values() if b.plugin == entry.plugin]
        check_entry_points(entry, backends)

    def test_spec_valid(self):
        check_spec(self._entry().spec)

    def test_generated_configs_consistent(self):
        check_generated(self._entry().spec)

    def test_roundtrip(self):
        check_roundtrip(self._entry().spec)

    def test_broken_variants_rejected(self):
        spec = self._entry().spec
        j0, last = spec.joints[0], spec.joints[-1]
        _expect_spec_error(
            lambda: attrs.evolve(
                spec, joints=(*spec.joints[:-1], attrs.evolve(last, name=j0.name))
            ),
            j0.name,
        )
        _expect_spec_error(
            lambda: attrs.evolve(
                spec, joints=(attrs.evolve(j0, lower=j0.upper + 1.0), *spec.joints[1:])
            ),
            j0.name,
        )
        g = spec.action_groups[-1]
        _expect_spec_error(
            lambda: attrs.evolve(
                spec, action_groups=(*spec.action_groups[:-1], attrs.evolve(g, end=g.end - 1))
            ),
            spec.joints[-1].name,
        )

    def test_mock_loop(self):
        check_mock_loop(self._entry().spec)


__all__ = [
    "EmbodimentConformance",
    "assert_within_limits",
    "check_entry_points",
    "check_generated",
    "check_mock_loop",
    "check_roundtrip",
    "check_spec",
    "run_through_deployer",
]
