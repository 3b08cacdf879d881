"""Bounded concurrency for a fetch: independent calls on a few threads, results in plan order.

The fetch hands :class:`Workers` the calls of one step (an organisation's listing each, a
``model_info`` each, the whole-Hub top listing beside them) and reads the results back in the
order it submitted them, so that a snapshot holds the same rows in the same order whatever the
timing. With one worker nothing runs in a thread: each call runs when its result is asked for,
which is the sequential fetch, request for request. The request budget, the timeout and the
pauses that the Hub asks for (``Retry-After``, ``RateLimit``) are the client's
(:mod:`openbrief.hub.client`): they hold for every worker at once.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait

#: Workers of a fetch unless ``--concurrency`` says otherwise: few enough to stay polite to the Hub.
DEFAULT_CONCURRENCY = 8


class _Deferred:
    """A call run when its result is first asked for (one worker: the sequential fetch)."""

    def __init__(self, fn: Callable, args: tuple):
        self._call: tuple | None = (fn, args)
        self._value, self._error = None, None

    def result(self):
        if self._call is not None:
            fn, args = self._call
            self._call = None
            try:
                self._value = fn(*args)
            except BaseException as err:  # noqa: BLE001 - kept and raised to whoever asks, like a Future
                self._error = err
        if self._error is not None:
            raise self._error
        return self._value

    def cancel(self) -> bool:
        self._call = None
        return True


class Workers:
    """``size`` threads for the independent calls of a fetch (a context manager: leaving it waits
    for the calls running and cancels the ones not started)."""

    def __init__(self, size: int = DEFAULT_CONCURRENCY):
        if size < 1:
            raise ValueError(f"concurrency must be at least 1, got {size}")
        self.size = size
        self._pool = ThreadPoolExecutor(size, thread_name_prefix="openbrief-fetch") if size > 1 else None

    def submit(self, fn: Callable, *args) -> Future | _Deferred:
        """Start ``fn(*args)`` (with one worker: when its result is asked for)."""
        return _Deferred(fn, args) if self._pool is None else self._pool.submit(fn, *args)

    def map(self, fn: Callable, items: Iterable) -> list[Future | _Deferred]:
        """``fn(item)`` for each item, started in order."""
        return [self.submit(fn, item) for item in items]

    def gather(self, calls: Iterable[Future | _Deferred]) -> list:
        """The results in submission order. When one fails, the calls not started are cancelled, the
        running ones are waited for, and the first failure in submission order is raised."""
        results, failure, running = [], None, []
        for call in calls:
            if failure is not None:
                if not call.cancel():
                    running.append(call)
                continue
            try:
                results.append(call.result())
            except BaseException as err:  # noqa: BLE001 - re-raised below, once the others are settled
                failure = err
        if failure is not None:
            wait(running)
            raise failure
        return results

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
