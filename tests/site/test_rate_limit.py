from __future__ import annotations

import asyncio

import pytest

from durban_valuations.site.rate_limit import RateLimiter


class FakeClock:
    """A clock that advances only when the limiter sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_first_request_starts_at_once() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2.0, clock=clock, sleep=clock.sleep)
    asyncio.run(limiter.wait())
    assert clock.sleeps == []


def test_sequential_requests_spaced() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)

    async def run() -> None:
        for _ in range(3):
            await limiter.wait()

    asyncio.run(run())
    assert clock.sleeps == [0.25, 0.25]


def test_concurrent_callers_reserve_slots() -> None:
    clock = FakeClock()
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    limiter = RateLimiter(2.0, clock=clock, sleep=record)

    async def run() -> None:
        await asyncio.gather(*(limiter.wait() for _ in range(4)))

    asyncio.run(run())
    assert sorted(sleeps) == [0.5, 1.0, 1.5]


def test_idle_time_not_banked() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)

    async def run() -> None:
        await limiter.wait()
        clock.now += 10.0
        await limiter.wait()
        await limiter.wait()

    asyncio.run(run())
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_invalid_rate_raises(rate: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(rate)


def test_slow_down_halves_rate() -> None:
    limiter = RateLimiter(8.0)
    limiter.slow_down()
    assert limiter.current_rate == 4.0
    assert limiter.interval == 0.25
    limiter.slow_down()
    assert limiter.current_rate == 2.0


def test_slow_down_has_floor() -> None:
    limiter = RateLimiter(16.0)
    for _ in range(10):
        limiter.slow_down()
    assert limiter.current_rate == 1.0


def test_speed_up_restores_gradually() -> None:
    limiter = RateLimiter(10.0)
    limiter.slow_down()
    rates = []
    for _ in range(11):
        limiter.speed_up()
        rates.append(limiter.current_rate)
    assert rates[0] == pytest.approx(5.5)
    assert rates[4] == pytest.approx(7.5)
    assert rates[9] == pytest.approx(10.0)
    assert rates[10] == 10.0


def test_pause_delays_next_start() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4.0, clock=clock, sleep=clock.sleep)

    async def run() -> None:
        await limiter.wait()
        limiter.pause(30.0)
        await limiter.wait()

    asyncio.run(run())
    assert clock.sleeps == [30.0]
    assert limiter.is_paused() is False


def test_pause_holds_sleeping_caller() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)

    async def pause_then_sleep(seconds: float) -> None:
        # The pause starts while the caller sleeps towards its reserved slot.
        limiter._sleep = clock.sleep
        limiter.pause(10.0)
        await clock.sleep(seconds)

    async def run() -> None:
        await limiter.wait()
        limiter._sleep = pause_then_sleep
        await limiter.wait()

    asyncio.run(run())
    assert clock.sleeps == [1.0, 9.0]


def test_shorter_pause_keeps_longer() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1.0, clock=clock, sleep=clock.sleep)
    limiter.pause(30.0)
    limiter.pause(5.0)
    assert limiter.paused_until == 130.0
