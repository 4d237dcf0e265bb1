"""The model's event clock runs the same events in the same order as Mesa's ``DEVSimulator``."""

from __future__ import annotations

import random

import mesa
import pytest
from mesa.experimental.devs import DEVSimulator
from mesa.experimental.devs.eventlist import Priority

from experiments.event_clock import EventClock, KeyedEvent


class _Recorder(mesa.Model):
    """Events that log (clock, label) and sometimes schedule more events, some at the current time."""

    def __init__(self, simulator: DEVSimulator, seed: int):
        super().__init__(rng=seed)
        self.simulator = simulator
        simulator.setup(self)
        self.log: list[tuple[float, str]] = []
        self.draw = random.Random(seed)
        self.cancelled = []
        for i in range(60):
            t = float(self.draw.choice([0.0, 0.5, 1.0, 1.0, 2.5, 3.0, 7.0]))
            prio = self.draw.choice(list(Priority))
            ev = simulator.schedule_event_absolute(self.fire, t, priority=prio, function_args=[f"e{i}", 2])
            if i % 13 == 5:
                ev.cancel()  # Mesa's lazy deletion: the event stays on the heap, marked
                self.cancelled.append(f"e{i}")

    def fire(self, label: str, depth: int) -> None:
        self.log.append((self.simulator.time, label))
        if depth > 0 and self.draw.random() < 0.5:
            delay = self.draw.choice([0.0, 0.0, 0.25, 4.0])
            prio = self.draw.choice(list(Priority))
            self.simulator.schedule_event_relative(
                self.fire, delay, priority=prio, function_args=[label + "+", depth - 1]
            )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_same_events_in_the_same_order_as_devsimulator(seed):
    runs = []
    for clock in (DEVSimulator(), EventClock()):
        model = _Recorder(clock, seed)
        times = []
        for end in (0.0, 0.7, 1.0, 2.9, 3.0, 6.0, 20.0):
            clock.run_until(end)
            times.append(clock.time)
        runs.append((model.log, times))
    assert runs[0] == runs[1]
    log, times = runs[1]
    assert times == [0.0, 0.7, 1.0, 2.9, 3.0, 6.0, 20.0]
    assert len(log) > 60 - 5  # events ran, including those scheduled by events
    assert not {label for _, label in log} & set(_Recorder(EventClock(), seed).cancelled)


def test_events_are_keyed_and_the_clock_needs_setup():
    clock = EventClock()
    with pytest.raises(Exception, match="setup"):
        clock.run_until(1.0)
    model = _Recorder(clock, 0)
    ev = clock.schedule_event_absolute(model.fire, 5.0, priority=Priority.LOW, function_args=["x", 0])
    assert isinstance(ev, KeyedEvent)
    assert ev._key == (5.0, Priority.LOW.value, ev.unique_id)
    with pytest.raises(ValueError, match="past"):
        clock.run_until(1.0)
        clock.schedule_event_absolute(model.fire, 0.5, function_args=["late", 0])
