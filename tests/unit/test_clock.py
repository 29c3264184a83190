from datetime import UTC, datetime, timedelta

import pytest

from engine.clock import FixedClock, SimulatedClock

T0 = datetime(2020, 11, 17, 1, 0, tzinfo=UTC)


def test_fixed_clock_never_moves():
    clock = FixedClock(T0)
    assert clock.now() == clock.now() == T0


def test_simulated_clock_advances_and_refuses_to_go_back():
    clock = SimulatedClock(T0)
    clock.advance(timedelta(days=1))
    assert clock.now() == T0 + timedelta(days=1)
    with pytest.raises(ValueError):
        clock.set(T0)


def test_naive_instants_are_refused():
    with pytest.raises(ValueError):
        FixedClock(datetime(2020, 11, 17))
