from __future__ import annotations

import threading
import time

import pytest

from invite.adapters.cache import CachedValue


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_loads_once_per_ttl():
    clock = Clock()
    calls = []
    cache = CachedValue(lambda: calls.append(1) or len(calls), ttl_seconds=60, clock=clock)
    assert cache.get().value == 1
    clock.now += 59
    assert cache.get().value == 1
    clock.now += 2
    assert cache.get().value == 2
    assert cache.loads == 2


def test_concurrent_expiry_costs_one_load():
    started = threading.Event()
    calls = []

    def slow_loader():
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return "teams"

    cache = CachedValue(slow_loader, ttl_seconds=60)
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get().value)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["teams"] * 8
    assert len(calls) == 1


def test_failed_reload_serves_older_value_with_error_then_retries_soon():
    clock = Clock()
    outcomes = iter(["v1", RuntimeError("down"), "v2"])

    def loader():
        value = next(outcomes)
        if isinstance(value, Exception):
            raise value
        return value

    cache = CachedValue(loader, ttl_seconds=60, failure_ttl_seconds=5, clock=clock)
    assert cache.get().value == "v1"
    clock.now += 61
    stale = cache.get()
    assert stale.value == "v1" and isinstance(stale.error, RuntimeError)
    clock.now += 1
    assert cache.get().error is not None  # still within the failure window: no new load
    assert cache.loads == 2
    clock.now += 5
    fresh = cache.get()
    assert fresh.value == "v2" and fresh.error is None


def test_failure_without_older_value_raises_and_is_remembered_briefly():
    clock = Clock()
    calls = []

    def loader():
        calls.append(1)
        raise RuntimeError("down")

    cache = CachedValue(loader, ttl_seconds=60, failure_ttl_seconds=5, clock=clock)
    with pytest.raises(RuntimeError):
        cache.get()
    with pytest.raises(RuntimeError):
        cache.get()
    assert len(calls) == 1
    clock.now += 6
    with pytest.raises(RuntimeError):
        cache.get()
    assert len(calls) == 2


def test_refresh_reloads_even_when_fresh():
    calls = []
    cache = CachedValue(lambda: calls.append(1) or len(calls), ttl_seconds=60)
    cache.get()
    assert cache.refresh().value == 2


def test_kept_values_hold_at_most_their_limit_dropping_the_oldest():
    from invite.adapters.cache import Kept

    kept = Kept()
    for n in range(5):
        kept.keep(f"k{n}", n, limit=3)
    assert list(kept) == ["k2", "k3", "k4"] and kept.get("k4") == 4 and kept.get("k0") is None
    kept.keep("k2", 20, limit=3)  # kept again: its value changes, nothing is dropped
    assert kept == {"k2": 20, "k3": 3, "k4": 4}


# --- reloaded in the background before it expires (issue 25): a read never waits, but a process's first


def wait_until(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.01)


class SlowLoader:
    """Loads "v1", "v2", … each only once the test lets it finish (release())."""

    def __init__(self, fail_on: tuple[int, ...] = ()):
        self.calls = 0
        self.fail_on = fail_on
        self.may_finish = threading.Semaphore(0)
        self.started = threading.Event()

    def __call__(self):
        self.calls += 1
        self.started.set()
        assert self.may_finish.acquire(timeout=30), "the test never let the load finish"
        if self.calls in self.fail_on:
            raise RuntimeError("down")
        return f"v{self.calls}"

    def release(self):
        self.may_finish.release()


def background_cache(loader, clock, **options):
    return CachedValue(loader, ttl_seconds=60, failure_ttl_seconds=5, clock=clock, refresh_in_background=True,
                       **options)


def test_a_value_is_reloaded_in_the_background_before_it_expires_and_reads_meanwhile_do_not_wait():
    clock = Clock()
    loader = SlowLoader()
    cache = background_cache(loader, clock)
    loader.release()
    assert cache.get().value == "v1"  # the first load is waited for: there is nothing else to show
    clock.now += 47
    assert cache.get().value == "v1" and not cache.refreshing  # not yet 80 % of its 60 s
    clock.now += 2
    loader.started.clear()
    started = time.monotonic()
    assert cache.get().value == "v1"  # due for a reload: begun on its own thread, this read not held up
    assert loader.started.wait(30) and cache.refreshing
    for _ in range(5):  # more reads while it loads: the value in hand, and no second load
        assert cache.get().value == "v1"
    assert time.monotonic() - started < 5 and loader.calls == 2
    clock.now += 20  # past its expiry while the reload is still under way: still served at once
    assert cache.get().value == "v1" and loader.calls == 2
    loader.release()
    wait_until(lambda: not cache.refreshing)
    fresh = cache.get()
    assert fresh.value == "v2" and fresh.loaded_at == clock.now and cache.loads == 2


def test_a_value_long_expired_is_served_once_more_while_it_reloads():
    clock = Clock()
    loader = SlowLoader()
    cache = background_cache(loader, clock)
    loader.release()
    cache.get()
    clock.now += 3600  # an idle hour
    assert cache.get().value == "v1"
    loader.release()
    wait_until(lambda: loader.calls == 2 and not cache.refreshing)
    assert cache.get().value == "v2"


def test_a_failed_background_reload_keeps_the_older_value_and_tries_again_after_the_failure_ttl():
    clock = Clock()
    loader = SlowLoader(fail_on=(2,))
    cache = background_cache(loader, clock)
    loader.release()
    cache.get()
    clock.now += 50
    loader.release()
    cache.get()
    wait_until(lambda: loader.calls == 2 and not cache.refreshing)
    stale = cache.get()
    assert stale.value == "v1" and isinstance(stale.error, RuntimeError) and loader.calls == 2
    clock.now += 4  # within the failure's 5 s: no new load
    assert cache.get().error is not None and loader.calls == 2
    clock.now += 2
    loader.release()
    cache.get()
    wait_until(lambda: loader.calls == 3 and not cache.refreshing)
    assert cache.get().value == "v3" and cache.get().error is None


def test_only_the_first_load_is_waited_for_and_once_for_all_threads():
    loader = SlowLoader()
    cache = background_cache(loader, Clock())
    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get().value)) for _ in range(6)]
    for thread in threads:
        thread.start()
    assert loader.started.wait(30)
    time.sleep(0.05)
    assert results == []  # all waiting for the one first load
    loader.release()
    for thread in threads:
        thread.join(30)
    assert results == ["v1"] * 6 and loader.calls == 1


def test_a_ttl_of_zero_keeps_nothing_even_in_the_background():
    calls = []
    cache = CachedValue(lambda: calls.append(1) or len(calls), ttl_seconds=0, clock=Clock(),
                        refresh_in_background=True)
    assert [cache.get().value for _ in range(3)] == [1, 2, 3]


def test_the_team_list_is_reloaded_behind_the_page_that_finds_it_due(sandbox, tmp_path):
    """Through the app: the form's view after the team list is due makes no Junction call of its own
    (Server-Timing names none), and the next one shows the list as reloaded meanwhile."""
    from conftest import app_env, make_app

    app = make_app(app_env(sandbox, f"sqlite:///{tmp_path / 'invite.db'}", TEAMS_CACHE_TTL_SECONDS="1"))
    client = app.test_client()
    first = client.get("/")
    assert "junction;dur=" in first.headers["Server-Timing"]  # the process's first load is waited for
    with sandbox.state.lock:
        sandbox.state.teams[0]["name"] = "Renamed While Cached"
    upstream = app.extensions["upstream"]
    time.sleep(1.0)  # past the 1 s TTL
    team_calls = len([e for e in sandbox.state.requests_log() if e["path"].endswith("/team")])
    due = client.get("/")
    assert due.status_code == 200 and "junction;dur=" not in due.headers["Server-Timing"]
    wait_until(lambda: not upstream.teams.refreshing and len(
        [e for e in sandbox.state.requests_log() if e["path"].endswith("/team")]) > team_calls)
    assert "Renamed While Cached" in client.get("/").get_data(as_text=True)
