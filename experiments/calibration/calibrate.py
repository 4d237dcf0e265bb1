"""Calibrate scenario parameters to a day's moments with optuna; trials run through the sweep engine.

Objective of a trial (parameter values ``theta``): run the scenario with ``theta`` over the same M
seeds as every other trial (common random numbers), take each moment's **median over the seeds**
and return :func:`experiments.calibration.targets.distance` to the targets (weighted mean squared z-score).

Output directory layout::

    DIR/calibration.json     what this calibration is (scenario, targets, params, seeds, sampler)
    DIR/study.db             the optuna study (SQLite): the calibration's state, resumable
    DIR/trials/<hash>/       one sweep directory per parameter point (runs.parquet, run records)
    DIR/trials.parquet       one row per trial: state, value, parameters, moment medians and z-scores
    DIR/best.json, best_set.txt, best_scenario.toml   the best parameters (as --set args, as a scenario)
    DIR/plots/history.png, importances.png, moments.png

Resuming: the same command again continues the study. Finished trials are never redone; a trial
that was running when the process died (Ctrl-C, ``kill -9``) is marked failed and its parameters are
queued again, and since its sweep directory is named by the parameter values, the seeds it had
finished are not re-run either. Samplers are seeded from ``SeedSequence([root_seed, n_trials_so_far])``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from experiments.atomic_io import replace_write
from experiments.calibration.params import (
    ParamSpec,
    check_params,
    parse_param,
    point_dir_name,
    validate_params,
)
from experiments.calibration.targets import Targets, distance, moment_values
from experiments.sweep.designs import format_value
from experiments.sweep.engine import run_sweep
from experiments.sweep.executors import start_local_cluster
from experiments.sweep.spec import DEFAULT_RUNNER, SweepConfigError, scenario_identity
from experiments.sweep.store import lock_out_dir
from experiments.sweep.worker import error_last_line

if TYPE_CHECKING:
    import optuna
    import pandas as pd

__all__ = [
    "ParamSpec",
    "calibrate",
    "local_cluster",
    "parse_param",
    "point_dir_name",
    "trial_moments",
    "trials_table",
]

SPEC_FILE = "calibration.json"
LOCK_FILE = ".calibrate.lock"
STUDY_NAME = "calibration"
SAMPLERS = ("tpe", "cmaes", "random")


# -------------------------------------------------------------------------------------------- spec


def _write_json(path: Path, obj: Any) -> None:
    text = json.dumps(obj, indent=1, sort_keys=True, allow_nan=True)
    replace_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _check_spec(out: Path, spec: Mapping[str, Any]) -> bool:
    """True if ``out`` holds this calibration already; raise if it holds something else."""
    if out.exists() and not out.is_dir():
        raise SweepConfigError(f"output {str(out)!r} exists and is not a directory")
    path = out / SPEC_FILE
    if not path.exists():
        if out.exists() and any(out.iterdir()):
            raise SweepConfigError(f"output folder {str(out)!r} is not empty and holds no calibration")
        return False
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SweepConfigError(f"{path} is unreadable ({exc}); choose another output folder") from None
    for key in spec:
        if key != "n_trials" and old.get(key) != spec[key]:
            raise SweepConfigError(
                f"{out} holds a different calibration ({key} differs); use another --out or the same "
                "arguments"
            )
    return True


@contextmanager
def local_cluster(workers: int | None, scheduler: str | None) -> Iterator[tuple[int | None, str | None]]:
    """Executor for many small sweeps: with ``workers > 1`` start one local Dask cluster for all of them.

    Starting a cluster per trial would re-import the model (and load numba's cache) in every worker for
    every trial; one ``LocalCluster`` (:func:`experiments.sweep.executors.start_local_cluster`, the one
    ``run_sweep`` starts itself) keeps its workers warm. Yields ``(workers, scheduler)`` to pass to
    :func:`experiments.sweep.run_sweep`.
    """
    if scheduler is not None or workers is None or workers <= 1:
        yield (workers if scheduler is None else None, scheduler)
        return
    with start_local_cluster(workers) as cluster:
        yield None, cluster.scheduler_address


# ------------------------------------------------------------------------------------------- study


def _storage(out: Path) -> optuna.storages.RDBStorage:
    import optuna

    return optuna.storages.RDBStorage(f"sqlite:///{(out / 'study.db').resolve()}")


def _sampler(name: str, root_seed: int, n_before: int) -> optuna.samplers.BaseSampler:
    import optuna

    seed = int(np.random.SeedSequence([root_seed, n_before]).generate_state(1)[0])
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=10)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=5, warn_independent_sampling=False)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise SweepConfigError(f"sampler {name!r}: must be one of {', '.join(SAMPLERS)}")


def _distributions(params: Sequence[ParamSpec]) -> dict[str, Any]:
    from optuna.distributions import FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for p in params:
        if p.integer:
            out[p.key] = IntDistribution(int(p.lo), int(p.hi), log=p.log)
        else:
            out[p.key] = FloatDistribution(p.lo, p.hi, log=p.log)
    return out


def _finished(trial: optuna.trial.FrozenTrial) -> bool:
    import optuna

    s = trial.state
    return s == optuna.trial.TrialState.COMPLETE or (
        s == optuna.trial.TrialState.FAIL and not trial.user_attrs.get("interrupted", False)
    )


def _requeue_stale(study: optuna.Study) -> int:
    """Mark trials left RUNNING by a dead process as failed (interrupted) and queue their params again."""
    import optuna

    storage = study._storage  # noqa: SLF001 - the storage object we built ourselves
    n = 0
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        tid = storage.get_trial_id_from_study_id_trial_number(
            storage.get_study_id_from_name(study.study_name), t.number
        )
        storage.set_trial_user_attr(tid, "interrupted", True)
        storage.set_trial_state_values(tid, optuna.trial.TrialState.FAIL)
        study.enqueue_trial(dict(t.params), user_attrs={"retry_of": t.number})
        n += 1
    return n


def trial_moments(runs: pd.DataFrame, targets: Targets) -> pd.DataFrame:
    """Per-seed moment values of one trial's runs table (ok runs only): one row per seed."""
    import pandas as pd

    ok = runs[runs["status"] == "ok"]
    rows = [moment_values(r, targets.names) | {"seed": int(r["seed"])} for r in ok.to_dict("records")]
    return pd.DataFrame(rows, columns=["seed", *targets.names])


def _evaluate(runs: pd.DataFrame, targets: Targets, n_seeds: int) -> tuple[float | None, dict[str, Any]]:
    """Objective value (None: too few ok runs) and user attrs of one trial."""
    per_seed = trial_moments(runs, targets)
    n_ok = len(per_seed)
    attrs: dict[str, Any] = {"n_ok": n_ok, "n_runs": len(runs)}
    if n_ok < math.ceil(n_seeds / 2):
        errs = runs.loc[runs["status"] != "ok", "error"]
        last = error_last_line(errs.iloc[0]) if len(errs) else "no runs"
        attrs["error"] = last[:500]
        return None, attrs
    with np.errstate(all="ignore"):
        med = {
            m: float(np.nanmedian(per_seed[m].to_numpy(float))) if per_seed[m].notna().any() else math.nan
            for m in targets.names
        }
    attrs["median"] = {k: (None if math.isnan(v) else v) for k, v in med.items()}
    attrs["z"] = {m.name: m.z(med[m.name]) for m in targets.moments}
    return distance(targets, med), attrs


def calibrate(
    scenario: str,
    targets: Targets,
    params: Sequence[ParamSpec],
    out_dir: str | os.PathLike[str],
    *,
    n_trials: int,
    seeds: Sequence[int],
    sampler: str = "tpe",
    root_seed: int = 0,
    workers: int | None = None,
    scheduler: str | None = None,
    runner: str = DEFAULT_RUNNER,
    overrides: Sequence[str] = (),
    progress: bool = True,
    plots: bool = True,
    on_trial: Callable[[optuna.trial.FrozenTrial], None] | None = None,
) -> pd.DataFrame:
    """Run (or resume) a calibration study until ``n_trials`` trials have finished.

    Args:
        scenario: Shipped scenario name or TOML path.
        targets: From :func:`experiments.calibration.targets.load_targets`.
        params: The calibrated parameters and their ranges.
        out_dir: Output folder (see the module docstring); created, or resumed if it holds this study.
        n_trials: Total number of finished trials wanted (those already in the study count).
        seeds: The seeds every trial runs (the same for all trials).
        sampler: ``"tpe"`` (default), ``"cmaes"`` or ``"random"``.
        root_seed: Seeds the sampler (with the number of trials so far).
        workers: Local workers (1: in this process; > 1: one local Dask cluster for the whole study).
        scheduler: Address of a running Dask scheduler instead of local workers.
        runner: The sweep runner, ``"module:function"``.
        overrides: ``dotted.key=value`` applied to every run.
        progress: Show a progress bar over trials (stderr).
        plots: Write the figures at the end.
        on_trial: Called with each finished trial (e.g. by tests).

    Returns:
        The trials table (also written to ``DIR/trials.parquet``).

    Raises:
        SweepConfigError: Bad arguments or another calibration in ``out_dir`` (nothing written).
        KeyboardInterrupt: After Ctrl-C, once the outputs are written (re-run to resume).
    """
    import optuna
    from tqdm import tqdm

    out = Path(out_dir)
    params = check_params(params)
    if sampler not in SAMPLERS:
        raise SweepConfigError(f"sampler {sampler!r}: must be one of {', '.join(SAMPLERS)}")
    if not isinstance(n_trials, int) or n_trials < 1:
        raise SweepConfigError(f"number of trials must be a positive integer, got {n_trials!r}")
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise SweepConfigError("no seeds: give at least one")
    spec = {
        "kind": "calibration",
        "scenario": scenario,
        "scenario_id": scenario_identity(scenario),
        "targets": targets.as_dict(),
        "params": [p.spec() for p in params],
        "seeds": seeds,
        "sampler": sampler,
        "root_seed": int(root_seed),
        "overrides": list(overrides),
        "runner": runner,
        "n_trials": n_trials,
    }
    validate_params(scenario, params, overrides, runner)
    _check_spec(out, spec)
    out.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with closing(lock_out_dir(out, LOCK_FILE, "calibration")):
        _write_json(out / SPEC_FILE, spec)  # new, or the same with this run's n_trials
        study = optuna.create_study(
            study_name=STUDY_NAME, storage=_storage(out), direction="minimize", load_if_exists=True
        )
        requeued = _requeue_stale(study)
        done = sum(_finished(t) for t in study.get_trials(deepcopy=False))
        study.sampler = _sampler(sampler, root_seed, len(study.get_trials(deepcopy=False)))
        dists = _distributions(params)
        if requeued and progress:
            print(f"calibrate: {requeued} interrupted trial(s) queued again", file=sys.stderr)
        bar = tqdm(
            total=n_trials,
            initial=min(done, n_trials),
            desc=f"calibrate {Path(scenario).stem}",
            unit="trial",
            file=sys.stderr,
            disable=not progress,
            dynamic_ncols=True,
        )
        n_fail_streak = 0
        try:
            with local_cluster(workers, scheduler) as (w, sched):
                while done < n_trials:
                    trial = study.ask(dists)
                    point = dict(trial.params)
                    sub = out / "trials" / point_dir_name(point)
                    trial.set_user_attr("sweep_dir", str(sub.relative_to(out)))
                    # an exception here leaves the trial RUNNING: it is queued again below
                    runs = run_sweep(
                        scenario,
                        [point],
                        seeds,
                        sub,
                        workers=w,
                        scheduler=sched,
                        runner=runner,
                        overrides=overrides,
                        progress=False,
                        design={"calibration_trial": trial.number},
                    )
                    value, attrs = _evaluate(runs, targets, len(seeds))
                    for k, v in attrs.items():
                        trial.set_user_attr(k, v)
                    if value is None:
                        study.tell(trial, state=optuna.trial.TrialState.FAIL)
                        n_fail_streak += 1
                        if n_fail_streak >= 3 and not any(
                            t.state == optuna.trial.TrialState.COMPLETE
                            for t in study.get_trials(deepcopy=False)
                        ):
                            raise SweepConfigError(f"the first trials all failed: {attrs.get('error', '')}")
                    else:
                        study.tell(trial, value)
                        n_fail_streak = 0
                    done += 1
                    bar.update(1)
                    try:
                        bar.set_postfix(best=f"{study.best_value:.3g}", refresh=False)
                    except ValueError:
                        pass
                    if on_trial is not None:
                        on_trial(study.trials[trial.number])
        except BaseException:
            _requeue_stale(study)
            raise
        finally:
            bar.close()
            table = trials_table(study, params, targets)
            table.to_parquet(out / "trials.parquet", index=False)
            _write_best(out, study, scenario, overrides, params, targets)
            if plots:
                try:
                    from experiments.plots.calibration import plot_calibration

                    plot_calibration(out)
                except Exception as exc:  # noqa: BLE001 - figures are a convenience, never fatal
                    print(f"calibrate: figures not written: {type(exc).__name__}: {exc}", file=sys.stderr)
    return table


def trials_table(study: optuna.Study, params: Sequence[ParamSpec], targets: Targets) -> pd.DataFrame:
    """One row per trial: ``number``, ``state``, ``value``, parameters, ``median_<m>``, ``z_<m>``."""
    import pandas as pd

    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {
            "number": t.number,
            "state": t.state.name,
            "value": math.nan if t.value is None else float(t.value),
            "duration_s": t.duration.total_seconds() if t.duration is not None else math.nan,
        }
        for p in params:
            row[p.key] = t.params.get(p.key, math.nan)
        med = t.user_attrs.get("median", {})
        z = t.user_attrs.get("z", {})
        for m in targets.names:
            v = med.get(m)
            row[f"median_{m}"] = math.nan if v is None else float(v)
        for m in targets.names:
            row[f"z_{m}"] = float(z[m]) if m in z else math.nan
        row["n_ok"] = int(t.user_attrs.get("n_ok", 0))
        row["sweep_dir"] = t.user_attrs.get("sweep_dir", "")
        row["error"] = t.user_attrs.get("error", "")
        rows.append(row)
    return pd.DataFrame(rows)


def _write_best(
    out: Path,
    study: optuna.Study,
    scenario: str,
    overrides: Sequence[str],
    params: Sequence[ParamSpec],
    targets: Targets,
) -> None:
    try:
        best = study.best_trial
    except ValueError:  # no complete trial yet
        return
    sets = [f"{k}={format_value(v)}" for k, v in sorted(best.params.items())]
    info = {
        "trial": best.number,
        "value": best.value,
        "params": best.params,
        "set": list(overrides) + sets,
        "median": best.user_attrs.get("median", {}),
        "z": best.user_attrs.get("z", {}),
        "targets": targets.name,
        "sweep_dir": best.user_attrs.get("sweep_dir", ""),
    }
    _write_json(out / "best.json", info)
    (out / "best_set.txt").write_text(" ".join(f"--set {s}" for s in info["set"]) + "\n", encoding="utf-8")
    try:
        from experiments.config import load_scenario, scenario_toml

        cfg = load_scenario(scenario, tuple(info["set"]))
    except Exception:  # noqa: BLE001 - e.g. a fake runner's parameters that no scenario has
        return
    head = (
        f"# best of calibration {out} (trial {best.number}, distance {best.value:.4g})\n"
        f"# = {scenario} with {' '.join(info['set'])}\n"
    )
    (out / "best_scenario.toml").write_text(head + scenario_toml(cfg), encoding="utf-8")
