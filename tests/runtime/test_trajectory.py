"""The chunk queue: past steps dropped, overlap blended, continuity from the current setpoint."""

import numpy as np
import pytest

from groot_sdk.deploy.timing import DeadlineClock
from groot_sdk.deploy.trajectory import ChunkTrajectory


def ramp(start, n=16):
    return (start + np.arange(n, dtype=np.float32))[:, None]


def test_merge_drops_steps_in_the_past_and_starts_from_the_current_setpoint():
    traj = ChunkTrajectory(policy_dt=0.1)
    # a chunk observed at t=0 arrives at t=0.25: steps 0 and 1 are over, step 2 is running
    kept = traj.merge(ramp(0.0), t_obs=0.0, now=0.25, current=np.array([-1.0], np.float32))
    assert kept == 14 and traj.dropped == 2
    assert traj.sample(0.25)[0] == pytest.approx(2.5)  # inside step 2's period, linear
    assert traj.valid(1.59) and not traj.valid(1.6)
    assert traj.remaining_steps(1.0) == pytest.approx(6.0)


def test_first_point_is_the_current_setpoint_when_the_chunk_starts_later():
    traj = ChunkTrajectory(policy_dt=0.1)
    traj.merge(ramp(10.0), t_obs=0.3, now=0.2, current=np.array([4.0], np.float32))
    assert traj.sample(0.2)[0] == pytest.approx(4.0)
    assert traj.sample(0.25)[0] == pytest.approx(7.0)  # halfway to the first new step
    assert traj.sample(0.3)[0] == pytest.approx(10.0)


def test_overlap_is_blended_from_the_old_plan_into_the_new():
    traj = ChunkTrajectory(policy_dt=0.1)
    traj.merge(np.zeros((16, 1), np.float32), 0.0, 0.0, np.zeros(1, np.float32))
    traj.merge(np.ones((16, 1), np.float32), 0.8, 0.8, np.zeros(1, np.float32), blend=0.2)
    assert traj.sample(0.8)[0] == pytest.approx(0.0)  # weight 0 at "now"
    assert traj.sample(0.9)[0] == pytest.approx(0.5)
    assert traj.sample(1.0)[0] == pytest.approx(1.0)
    assert traj.sample(2.0)[0] == pytest.approx(1.0)  # the old plan has ended: new only


def test_zero_order_columns_are_not_interpolated_or_blended():
    traj = ChunkTrajectory(policy_dt=0.1, zero_order=np.array([True, False]))
    traj.merge(np.array([[1.0, 1.0], [3.0, 3.0]], np.float32), 0.0, 0.0, np.zeros(2, np.float32))
    assert traj.sample(0.05).tolist() == pytest.approx([1.0, 2.0])
    traj.merge(np.full((2, 2), 9.0, np.float32), 0.1, 0.1, None, blend=0.5)
    assert traj.sample(0.1)[0] == pytest.approx(9.0)


def test_deadline_clock_counts_overruns_and_reanchors():
    import time

    clock = DeadlineClock(1000.0)
    clock.wait()
    time.sleep(0.01)  # ten periods late
    clock.wait()
    assert clock.overruns == 1 and clock.lateness[-1] >= 0.009  # late as it was (issue 18)
    stats = clock.stats()
    assert stats["ticks"] == 2 and stats["overruns"] == 1
    clock.wait()  # re-anchored: the next tick is due one period after the late one
    assert clock.lateness[-1] < 0.001 or clock.overruns == 2


@pytest.mark.parametrize("zero_order", [None, np.array([True, False, False, False, False, False])])
def test_sample_gives_interpolate_s_numbers_bit_for_bit(zero_order):
    """The per-tick sampler (prepared once per chunk) must not change a single setpoint."""
    from groot_sdk.policy.actions import interpolate

    rng = np.random.default_rng(0)
    for _ in range(50):
        traj = ChunkTrajectory(0.1, zero_order)
        current = rng.normal(size=6).astype(np.float32)
        traj.merge(rng.normal(size=(16, 6)).astype(np.float32), rng.uniform(0, 1), 0.5, current)
        traj.merge(rng.normal(size=(16, 6)).astype(np.float32), 0.6, 0.7, current, blend=0.1)
        for t in [*rng.uniform(-0.5, 3.0, 40), *traj.times]:
            got = traj.sample(float(t))
            want = interpolate(traj.times, traj.values, float(t), zero_order)
            assert got.dtype == np.float32 and got.tobytes() == want.tobytes()
