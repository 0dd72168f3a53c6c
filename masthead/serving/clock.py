"""The time as serving sees it, replaceable in tests.

Every expiry, grace and claim in serving reads the time through `now()` (wall
clock, comparable across processes) or `monotonic()` (this process's
intervals), so a test moves time on with `FakeClock.advance` instead of
sleeping and the outcome does not depend on how busy the machine is.
"""

import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        # From the real time: expiries elsewhere (a subscription's end, an
        # ad's) are real timestamps.
        self.wall = time.time()
        self.elapsed = time.monotonic()

    def now(self) -> float:
        return self.wall

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.wall += seconds
        self.elapsed += seconds


current: Clock = SystemClock()

# The functions serving calls, bound to the current clock's: the system
# clock's are time's own, so reading the time costs no extra call.
now: Callable[[], float] = time.time
monotonic: Callable[[], float] = time.monotonic
sleep: Callable[[float], None] = time.sleep


def use(clock: Clock) -> Clock:
    """Make `clock` serving's clock; returns the one it replaces."""
    global current, now, monotonic, sleep
    previous, current = current, clock
    if isinstance(clock, SystemClock):
        now, monotonic, sleep = time.time, time.monotonic, time.sleep
    else:
        now, monotonic, sleep = clock.now, clock.monotonic, clock.sleep
    return previous
