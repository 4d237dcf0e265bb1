"""Executors of a sweep's runs: this process (one worker), or Dask (a ``LocalCluster`` or a scheduler).

The sweep loop (:mod:`experiments.sweep.engine`) sees them through :class:`Backend`: ``submit`` a task,
``wait_any`` for finished futures, read a ``result`` (always the run's record), ``close``.

Local and cluster sweeps are one code path: ``workers=N`` (N >= 2) starts a ``distributed.LocalCluster``
of N single-threaded worker processes (:func:`start_local_cluster`) and connects to it by address exactly
as ``scheduler="tcp://host:port"`` connects to a running cluster. Dask restarts a worker process that
dies; a run whose worker died :data:`ALLOWED_FAILURES` + 1 times is recorded as failed (``KilledWorker``).
``workers=1`` runs in this process (no start-up cost; pdb and tracebacks work), as before.

Local workers use this process's numba cache folder (:func:`numba_cache_dir`, passed to them in their
environment), so one warm cache serves the machine. They are forked from a fork server
(:func:`start_fork_server`) that imports Dask and the runner's module once, while this process imports
Dask and starts the scheduler: a worker's start-up is then a fork, not a new interpreter importing
everything again (on 2 cores that halves the CPU spent before the first run, see ``bench_sweep.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from experiments.sweep.spec import DEFAULT_RUNNER, RunTask, SweepConfigError
from experiments.sweep.worker import error_text, execute_task, failure_record

if TYPE_CHECKING:
    from distributed import LocalCluster

ALLOWED_FAILURES = 1
"""Worker deaths a run may cause before it is recorded as failed, on a local cluster (Dask's default
is 3 on a scheduler started elsewhere). One worker runs one task at a time, so the first death already
names the run; one retry forgives a worker killed from outside (e.g. by the out-of-memory killer)."""


_TRIM_KEY = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
CLUSTER_CONFIG: dict[str, Any] = {
    # one task per worker at a time, the rest queued on the scheduler
    "distributed.scheduler.worker-saturation": 1.0,
    "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
    # CPU that Dask spends beside the runs (measured on 2 cores, benchmarks/bench_sweep.py):
    # - the workers' statistical profiler walks the running task's stack every 10 ms on the event
    #   loop thread, contending for the GIL with the run (about 3% of a run's CPU);
    "distributed.worker.profile.enabled": False,
    # - Dask sets MALLOC_TRIM_THRESHOLD_=65536 in workers, which also turns off glibc's adaptive mmap
    #   threshold: every large numpy temporary is mmap'ed and unmapped again (twice the page faults,
    #   about 5% of a nov20 day); None unsets it, like a plain process;
    _TRIM_KEY: None,
    # - work stealing rebalances every 100 ms, but one-task-per-worker leaves nothing to steal;
    "distributed.scheduler.work-stealing": False,
    # - event-loop tick (20 ms) and system monitor (500 ms, with disk counters), in every process.
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.system-monitor.disk": False,
}
"""Dask settings of the local cluster (also passed to its workers)."""


def numba_cache_dir() -> str | None:
    """The numba cache folder this process uses (absolute), or None for numba's default locations.

    numba reads ``NUMBA_CACHE_DIR`` once, when it is imported: once it is, ``numba.config.CACHE_DIR``
    is what this process really uses, whatever the environment says now.
    """
    numba = sys.modules.get("numba")
    path = numba.config.CACHE_DIR if numba is not None else os.environ.get("NUMBA_CACHE_DIR", "")
    return os.path.abspath(path) if path else None


WORKER_PRELOAD = "experiments.sweep.worker"
"""Dask preload module of local-cluster workers (its ``dask_setup`` hook)."""


_server_env: dict[str, str] | None = None
"""The environment the running fork server was started with (None: none started here)."""


def _worker_environment() -> dict[str, str]:
    """This process's environment as a spawned local worker would get it (Dask imported, config set).

    With Dask's ``distributed.nanny.pre-spawn-environ`` added (single-threaded BLAS; a variable already
    set here wins, as in Dask; ``MALLOC_TRIM_THRESHOLD_`` unset by :data:`CLUSTER_CONFIG`) and
    ``NUMBA_CACHE_DIR`` set to :func:`numba_cache_dir`.
    """
    import dask
    import distributed  # noqa: F401 - its config defaults (a no-op once imported)

    env = dict(os.environ)
    for key, value in dask.config.get("distributed.nanny.pre-spawn-environ").items():
        if value is None:
            env.pop(key, None)
        else:
            env.setdefault(key, str(value))
    cache = numba_cache_dir()
    if cache:
        env["NUMBA_CACHE_DIR"] = cache
    return env


@contextlib.contextmanager
def _environ(env: dict[str, str]) -> Iterator[None]:
    """This process's environment replaced by ``env`` for the block (only differing keys touched)."""
    saved = dict(os.environ)
    try:
        for key in saved.keys() - env.keys():
            del os.environ[key]
        os.environ.update({k: v for k, v in env.items() if saved.get(k) != v})
        yield
    finally:
        for key in os.environ.keys() - saved.keys():
            del os.environ[key]
        os.environ.update({k: v for k, v in saved.items() if os.environ.get(k) != v})


def start_fork_server(runner: str = DEFAULT_RUNNER) -> bool:
    """Start, in the background, the fork server that local-cluster workers are forked from.

    The server is a fresh, single-threaded interpreter (what makes forking safe; forking this process,
    which runs Dask's event-loop threads, is not) that imports ``distributed``, the workers' preload
    module and ``runner``'s module once (about 1 s of CPU, the start-up each spawned worker used to
    pay again); every worker is then a fork of it. Returns at once: the imports run while this process
    goes on (starting the scheduler and the workers' nannies). A module that the server cannot import
    (e.g. one found only through this process's ``sys.path``) is skipped; the workers import it
    themselves.

    Workers get the server's environment, which must be right when the server starts (numba reads
    ``NUMBA_CACHE_DIR`` and numpy the BLAS thread counts when imported, which the server does before
    any worker exists): what a spawned worker would get (:func:`_worker_environment`; call this with
    Dask's config set as for the cluster). The server lives as long as this process (Python's
    ``multiprocessing`` forkserver, one per process) and is reused by later clusters; it is restarted
    when that environment has changed since it started, so workers see this process's environment as
    of now.

    Args:
        runner: ``"module:function"`` of the runner the workers will call.

    Returns:
        False if there is no fork server here (not on Windows), or one runs with another environment
        and this Python cannot restart it: local workers are then spawned instead. Else True.
    """
    global _server_env
    import multiprocessing

    if "forkserver" not in multiprocessing.get_all_start_methods():
        return False
    import multiprocessing.forkserver

    server = multiprocessing.forkserver._forkserver  # noqa: SLF001 - the process's fork server
    env = _worker_environment()
    if env != _server_env and server._forkserver_pid is not None:  # noqa: SLF001 - running, not ours as is
        stop = getattr(server, "_stop", None)  # CPython's own (test) hook, 3.8 and later
        if stop is None:
            return False
        stop()
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["distributed", WORKER_PRELOAD, runner.partition(":")[0]])
    with _environ(env):
        multiprocessing.forkserver.ensure_running()
    _server_env = env
    return True


def start_local_cluster(n_workers: int, runner: str = DEFAULT_RUNNER) -> LocalCluster:
    """Start a Dask ``LocalCluster`` of ``n_workers`` single-threaded worker processes for sweeps.

    Settings: no dashboard (offline, no port clash); no memory limit (like plain processes: a paused
    worker whose memory does not drop would stall the sweep); the scheduler gives a worker one task at a
    time (``worker-saturation`` 1.0, so a dying worker takes only its own run with it) and gives up on a
    run after :data:`ALLOWED_FAILURES` + 1 worker deaths; workers get ``NUMBA_CACHE_DIR`` set to
    :func:`numba_cache_dir` (empty: numba's default), ignore Ctrl-C (this process handles it), exit
    without a slow garbage collection, and die with this process. Dask's bookkeeping that costs CPU
    beside the runs is off or slowed (:data:`CLUSTER_CONFIG`). Workers are forked from the fork server
    (:func:`start_fork_server`, started here first), which imports ``runner``'s module once for all.

    Args:
        n_workers: Number of worker processes (>= 1).
        runner: ``"module:function"`` the workers will run (its module is imported in the fork server).

    Returns:
        The running cluster; close it (or use it as a context manager) when done.
    """
    import dask
    from distributed import LocalCluster

    if os.environ.get("MALLOC_TRIM_THRESHOLD_") == str(dask.config.get(_TRIM_KEY, default=None)):
        # an earlier Dask cluster of this process exported Dask's value here (Nanny does
        # os.environ.update); spawned workers would inherit it despite CLUSTER_CONFIG
        del os.environ["MALLOC_TRIM_THRESHOLD_"]
    with dask.config.set(CLUSTER_CONFIG):
        forked = start_fork_server(runner)  # its imports overlap with the scheduler's start here
    method = {"distributed.worker.multiprocessing-method": "forkserver" if forked else "spawn"}
    with dask.config.set({**CLUSTER_CONFIG, **method}):
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},  # its HTTP endpoint on a free port, not 8787
            memory_limit=0,
            silence_logs=logging.ERROR,
            env={"NUMBA_CACHE_DIR": numba_cache_dir() or ""},
            preload=[WORKER_PRELOAD],  # its dask_setup: Ctrl-C ignored, fast exit
        )


class Backend:
    """Minimal executor interface used by the sweep loop."""

    capacity: int = 1

    def submit(self, task: RunTask) -> Any:
        """Start ``task``; return its future."""
        raise NotImplementedError

    def wait_any(self, futures: Iterable[Any]) -> Iterable[Any]:
        """Block until at least one of ``futures`` is done; return the done ones."""
        raise NotImplementedError

    def result(self, future: Any, task: RunTask) -> dict[str, Any]:
        """The run's record (a failure record if the run or its worker failed)."""
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


class _Dask(Backend):
    """Runs on a Dask scheduler at ``address``; owns ``cluster`` (closed with the backend) if given."""

    def __init__(
        self,
        address: str,
        timeout_s: float,
        worker_timeout_s: float = 60.0,
        cluster: LocalCluster | None = None,
    ) -> None:
        from distributed import Client, as_completed

        self._cluster = cluster
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
        from distributed import KilledWorker

        try:
            return future.result()
        except KilledWorker as exc:
            return failure_record(
                task,
                "the worker process died while running this run (a crash in native code, or out of "
                f"memory?); Dask gave up on it: {exc}",
            )
        except Exception as exc:  # noqa: BLE001 - e.g. a task that failed to pickle: record it, go on
            return failure_record(task, error_text(exc))

    def close(self, abort: bool) -> None:
        try:
            self._client.close(timeout=10)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        if self._cluster is not None:
            try:
                self._cluster.close(timeout=10)
            except Exception:  # noqa: BLE001
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
    workers: int | None,
    scheduler: str | None,
    n_todo: int,
    timeout_s: float,
    worker_timeout_s: float = 60.0,
    runner: str = DEFAULT_RUNNER,
) -> Backend:
    """The executor for ``n_todo`` runs: a Dask client for ``scheduler``, else local workers.

    ``workers`` (capped at ``n_todo``) of 1 runs in this process; more start a ``LocalCluster`` used
    through the same client code as a scheduler started elsewhere (its workers import ``runner``'s
    module before they join).
    """
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
    if n == 1:
        return _InProcess()
    cluster = start_local_cluster(n, runner)
    try:
        return _Dask(cluster.scheduler_address, timeout_s, worker_timeout_s, cluster=cluster)
    except BaseException:
        cluster.close()
        raise


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
