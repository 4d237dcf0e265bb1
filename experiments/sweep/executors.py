"""Executors of a sweep's runs: in this process, local worker processes, or a Dask cluster.

The sweep loop (:mod:`experiments.sweep.engine`) sees them through :class:`Backend`: ``submit`` a task,
``wait_any`` for finished futures, read a ``result`` (the run's record; None when a local worker process
died), ``close``. Local worker processes use this process's numba cache folder (:func:`numba_cache_dir`,
passed to them explicitly), so one warm cache serves the machine.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as cf_wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from experiments.sweep.spec import RunTask, SweepConfigError
from experiments.sweep.worker import error_text, execute_task, failure_record

# ---------------------------------------------------------------------------------------- executors


def numba_cache_dir() -> str | None:
    """The numba cache folder this process uses (absolute), or None for numba's default locations.

    numba reads ``NUMBA_CACHE_DIR`` once, when it is imported: once it is, ``numba.config.CACHE_DIR``
    is what this process really uses, whatever the environment says now.
    """
    numba = sys.modules.get("numba")
    path = numba.config.CACHE_DIR if numba is not None else os.environ.get("NUMBA_CACHE_DIR", "")
    return os.path.abspath(path) if path else None


def _use_numba_cache(path: str | None) -> None:  # pragma: no cover - runs in worker processes
    """Make this (worker) process use the numba cache folder ``path`` (None: numba's defaults)."""
    if path is None:
        os.environ.pop("NUMBA_CACHE_DIR", None)
    else:
        os.environ["NUMBA_CACHE_DIR"] = path
    numba = sys.modules.get("numba")  # not imported yet in a fresh worker; set it anyway if it is
    if numba is not None:
        numba.config.CACHE_DIR = path or ""


def _watch_parent(cache_dir: str | None = None) -> None:  # pragma: no cover - runs in worker processes
    """Worker initializer: the parent's numba cache; ignore Ctrl-C (the parent handles it); die with it."""
    _use_numba_cache(cache_dir)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="cascade-parent-watch", daemon=True).start()


class Backend:
    """Minimal executor interface used by the sweep loop."""

    capacity: int = 1

    def submit(self, task: RunTask) -> Any:
        """Start ``task``; return its future."""
        raise NotImplementedError

    def wait_any(self, futures: Iterable[Any]) -> Iterable[Any]:
        """Block until at least one of ``futures`` is done; return the done ones."""
        raise NotImplementedError

    def result(self, future: Any, task: RunTask) -> dict[str, Any] | None:
        """The run's record, or None if the worker process died (the pool was rebuilt)."""
        raise NotImplementedError

    def close(self, abort: bool) -> None:
        """Release the workers (``abort``: do not wait for runs in flight)."""


class _InProcess(Backend):
    capacity = 1

    def submit(self, task: RunTask) -> Any:
        fut: Future[dict[str, Any]] = Future()
        fut.set_result(execute_task(task))
        return fut

    def wait_any(self, futures: Iterable[Any]) -> Iterable[Any]:
        return list(futures)

    def result(self, future: Any, task: RunTask) -> dict[str, Any]:
        return future.result()


class _LocalProcesses(Backend):
    def __init__(self, workers: int) -> None:
        self.capacity = workers
        self._pool = self._new_pool()
        self._spawned: list[Any] = []  # every worker process of the current and retired pools

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.capacity,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_watch_parent,
            initargs=(numba_cache_dir(),),  # one warm cache per machine, whatever the workers' env
        )

    def _track(self) -> None:
        # Processes are spawned synchronously inside submit(), so this sees each one.
        for proc in list(getattr(self._pool, "_processes", {}).values()):
            if proc not in self._spawned:
                self._spawned.append(proc)

    def _reap(self) -> None:
        """Terminate every worker process still alive (e.g. one a broken pool failed to stop)."""
        for proc in self._spawned:
            if proc.is_alive():
                proc.terminate()
        for proc in self._spawned:
            proc.join(timeout=5)
        self._spawned = []

    def submit(self, task: RunTask) -> Any:
        try:
            future = self._pool.submit(execute_task, task)
        except (BrokenProcessPool, OSError):
            # A worker died. If that races with spawning a worker inside submit(), CPython 3.11 raises
            # OSError('handle is closed') or leaves the new worker alive and waiting forever, so retire
            # the old pool's processes explicitly.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._reap()
            self._pool = self._new_pool()
            future = self._pool.submit(execute_task, task)
        self._track()
        return future

    def wait_any(self, futures: Iterable[Any]) -> Iterable[Any]:
        done, _ = cf_wait(list(futures), return_when=FIRST_COMPLETED)
        return done

    def result(self, future: Any, task: RunTask) -> dict[str, Any] | None:
        try:
            return future.result()
        except BrokenProcessPool:
            return None  # the loop re-runs the runs in flight, one at a time, to find the culprit
        except Exception as exc:  # noqa: BLE001 - e.g. a task that failed to pickle
            return failure_record(task, error_text(exc))

    def close(self, abort: bool) -> None:
        if abort:
            self._pool.shutdown(wait=False, cancel_futures=True)
        else:
            self._pool.shutdown(wait=True)
        self._reap()


class _Dask(Backend):
    def __init__(self, address: str, timeout_s: float, worker_timeout_s: float = 60.0) -> None:
        from distributed import Client, as_completed

        self._client = Client(address, timeout=timeout_s, set_as_default=False)
        if not self._client.nthreads():
            print(
                f"cascade: the Dask scheduler at {address} has no workers yet; waiting up to "
                f"{worker_timeout_s:g} s for one (start one with `dask worker {address}`)",
                file=sys.stderr,
            )
            try:
                self._client.wait_for_workers(1, timeout=worker_timeout_s)
            except (TimeoutError, OSError) as exc:
                self.close(abort=True)
                raise SweepConfigError(
                    f"the Dask scheduler at {address!r} has no workers after {worker_timeout_s:g} s; "
                    "start workers (`dask worker ADDRESS`) or raise --worker-timeout"
                ) from exc
        nthreads = sum(self._client.nthreads().values())
        self.capacity = max(2 * nthreads, 2)
        self._done = as_completed(loop=self._client.loop)

    def submit(self, task: RunTask) -> Any:
        key = f"cascade-run-{task.run_id}-{os.urandom(4).hex()}"
        future = self._client.submit(execute_task, task, pure=False, key=key)
        self._done.add(future)
        return future

    def wait_any(self, futures: Iterable[Any]) -> Iterable[Any]:
        return self._done.next_batch(block=True)

    def result(self, future: Any, task: RunTask) -> dict[str, Any]:
        try:
            return future.result()
        except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: record it, go on
            return failure_record(task, error_text(exc))

    def close(self, abort: bool) -> None:
        try:
            self._client.close(timeout=10)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


def _probe_scheduler(address: str, timeout_s: float) -> None:
    """Check that ``address`` answers like a Dask scheduler within ``timeout_s``; raise otherwise."""
    if not isinstance(address, str) or not address.strip():
        raise SweepConfigError("scheduler address must be a non-empty string such as tcp://host:8786")

    async def probe() -> None:
        from distributed.comm import connect

        comm = await connect(address, timeout=timeout_s)
        try:
            await comm.write({"op": "identity", "reply": True})
            reply = await asyncio.wait_for(comm.read(), timeout_s)
        finally:
            comm.abort()
        if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
            raise OSError(f"the service at {address} did not answer as a Dask scheduler")

    try:
        asyncio.run(asyncio.wait_for(probe(), timeout_s + 1.0))
    except Exception as exc:  # noqa: BLE001 - any failure means: not usable
        if isinstance(exc, TimeoutError) and not str(exc):
            text = f"no answer within {timeout_s:g} s"
        elif isinstance(exc, OSError | ValueError | TimeoutError):
            text = str(exc).splitlines()[0][:200]
        else:  # e.g. garbage from a service that is not Dask
            text = f"the service there did not answer as a Dask scheduler ({type(exc).__name__})"
        raise SweepConfigError(f"cannot reach a Dask scheduler at {address!r}: {text}") from None


def make_backend(
    workers: int | None, scheduler: str | None, n_todo: int, timeout_s: float, worker_timeout_s: float = 60.0
) -> Backend:
    """The executor for ``n_todo`` runs: a Dask client for ``scheduler``, else local workers."""
    if scheduler is not None:
        _probe_scheduler(scheduler, timeout_s)
        try:
            return _Dask(scheduler, timeout_s, worker_timeout_s)
        except SweepConfigError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise SweepConfigError(f"cannot connect to the Dask scheduler at {scheduler!r}: {exc}") from None
    assert workers is not None
    n = min(workers, max(n_todo, 1))
    return _InProcess() if n == 1 else _LocalProcesses(n)


def check_workers(workers: int | None, scheduler: str | None) -> int | None:
    """Checked number of local workers (None with a scheduler; default ``os.cpu_count()``)."""
    if scheduler is not None:
        if workers is not None:
            raise SweepConfigError("give either workers or a scheduler, not both")
        return None
    if workers is None:
        return os.cpu_count() or 1
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SweepConfigError(f"workers must be a positive integer, got {workers!r}")
    return workers
