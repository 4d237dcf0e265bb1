"""``cascade``: run, sweep, attribute, plot and list scenarios.

Bad input (unknown scenario or key, wrong type, out-of-range value) prints one line
``cascade: error: ...`` and exits with code 2 without writing anything.

Start-up: this module imports only the standard library; each command imports what it uses. While
:func:`main` imports and, for ``cascade run``, while the one day runs, Python's cyclic garbage
collector is off: the imports create about a million long-lived objects that each collection pass
would walk again (measured 0.2-0.3 s of CPU per run, the same peak memory). Commands that build many
models (sweeps, calibration) run with the collector on, as usual. After ``cascade run`` the exit
freezes those objects first (``gc.freeze`` as an ``atexit`` hook, as the sweep workers do): the
interpreter's teardown then skips its full collections over them (0.48 -> 0.12 s of CPU measured);
``atexit`` hooks and finalizers still run.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import gc
import os
import sys
import typing
from collections.abc import Sequence
from pathlib import Path

MAX_SEED = 2**63 - 1


def _fail(message: str) -> int:
    print(f"cascade: error: {message}", file=sys.stderr)
    return 2


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr (exit code 2)."""

    def error(self, message: str) -> typing.NoReturn:
        """Print ``cascade: error: <message>`` (one line) and exit with code 2."""
        text = " ".join(message.split())
        self.exit(2, f"cascade: error: {text} (see `{self.prog} --help`)\n")


def cmd_run(args: argparse.Namespace) -> int:
    """``cascade run``: one day, outputs into ``--out``."""
    from experiments.config import load_scenario
    from experiments.config_io import ConfigError
    from experiments.outputs import OutputError, check_run_out
    from experiments.runner import one_line, run_scenario, write_run

    if not 0 <= args.seed <= MAX_SEED:
        return _fail(f"--seed {args.seed}: must be >= 0 and <= {MAX_SEED}")
    try:
        config = load_scenario(args.scenario, args.set)
        check_run_out(args.out, args.overwrite)  # before the day is simulated
    except (ConfigError, OutputError) as exc:
        return _fail(str(exc))
    from experiments.compile_notice import compile_notice

    with compile_notice():  # one line on stderr if numba's cache is cold (first run only)
        result = run_scenario(config, args.seed)
    try:
        out = write_run(result, args.out, overwrite=args.overwrite)
    except OutputError as exc:  # the folder changed while the day ran
        return _fail(str(exc))
    print(one_line(result.summary))
    if args.plot:
        from experiments.plots import plot_dir

        for path in plot_dir(out):
            print(f"wrote {path}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    """``cascade plot DIR``: figures for a run, sweep or attribution directory."""
    from experiments.plots import plot_dir

    try:
        paths = plot_dir(args.dir)
    except ValueError as exc:
        return _fail(" ".join(str(exc).split()))
    except OSError as exc:
        return _fail(f"{args.dir}: {exc.strerror or exc}")
    for path in paths:
        print(f"wrote {path}")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    """``cascade scenarios``: the shipped scenarios with their one-line descriptions."""
    from experiments.config import load_scenario, shipped_scenarios

    for name in shipped_scenarios():
        print(f"{name:<28} {load_scenario(name).description}")
    return 0


def cmd_viz(args: argparse.Namespace) -> int:
    """``cascade viz``: the interactive page (Mesa SolaraViz) on localhost.

    The scenario and the port are checked before the server starts (exit 2). The server runs in its
    own process group; SIGTERM, SIGINT or SIGHUP to ``cascade viz`` stop the whole group.
    """
    import signal
    import socket
    import subprocess

    from experiments.config import load_scenario
    from experiments.config_io import ConfigError

    if not 1 <= args.port <= 65535:
        return _fail(f"--port {args.port}: must be between 1 and 65535")
    try:
        load_scenario(args.scenario)
    except ConfigError as exc:
        return _fail(str(exc))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", args.port))
        except OSError as exc:
            return _fail(f"--port {args.port}: cannot listen on 127.0.0.1:{args.port} ({exc.strerror})")
    app = Path(__file__).with_name("viz") / "app.py"
    scenario = str(Path(args.scenario).absolute()) if Path(args.scenario).is_file() else args.scenario
    env = dict(os.environ, CASCADE_VIZ_SCENARIO=scenario, SOLARA_TELEMETRY_MIXPANEL_ENABLE="False")
    cmd = [sys.executable, "-m", "solara", "run", str(app), "--host", "127.0.0.1", "--port", str(args.port),
           "--production", "--no-check-version"]  # fmt: skip
    if not args.open:
        cmd.append("--no-open")
    proc = subprocess.Popen(cmd, env=env, start_new_session=True)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    handled = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
    previous = {sig: signal.signal(sig, stop) for sig in handled}
    try:
        return proc.wait()
    except KeyboardInterrupt:
        _stop_group(proc)
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _stop_group(proc)  # also whatever the server started, if it exited on its own


def _stop_group(proc: typing.Any, timeout_s: float = 10.0) -> None:
    """SIGTERM to the process group of ``proc``, then SIGKILL after ``timeout_s`` seconds."""
    import signal
    import subprocess

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=timeout_s)
            return
        except subprocess.TimeoutExpired:
            continue


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cascade``."""
    parser = _Parser(prog="cascade", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run one trading day", description="Run SCENARIO (a shipped name or a "
                       "TOML path) for one day and write summary.json, timeseries/trades/depth/gex parquet "
                       "files and the resolved scenario.toml into --out.")  # fmt: skip
    p.add_argument("scenario", help="shipped scenario name (see `cascade scenarios`) or a .toml path")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a scenario value, e.g. --set dip_buyers.capital_usd=3e9 (repeatable)")
    p.add_argument("--out", required=True, help="output directory (absent, empty or a previous run's)")
    p.add_argument("--overwrite", action="store_true",
                   help="allow an --out folder that holds other files (the run's files replace theirs)")
    p.add_argument("--plot", action="store_true", help="also write the dashboard into OUT/plots/")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("plot", help="write the figures of a run, sweep or attribution directory")
    p.add_argument("dir", help="a directory written by cascade run / sweep / attribute")
    p.set_defaults(func=cmd_plot)

    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=cmd_scenarios)

    p = sub.add_parser("viz", help="interactive browser page (localhost only)")
    p.add_argument("scenario", nargs="?", default="nov20_2025")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--open", action="store_true", help="open a browser tab")
    p.set_defaults(func=cmd_viz)

    from experiments.sweep.cli import register

    register(sub)
    from experiments.calibration.cli import register as register_calibration

    register_calibration(sub)
    return parser


@functools.cache  # once per process
def _freeze_at_exit() -> None:
    """Register ``gc.freeze`` to run when the interpreter exits."""
    atexit.register(gc.freeze)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cascade`` script."""
    collecting = gc.isenabled()
    gc.disable()  # during the imports and `cascade run`'s one day: see the module docstring
    try:
        from experiments.config_io import ConfigError

        parser = build_parser()
        args = parser.parse_args(argv)
        if args.func is cmd_run:
            _freeze_at_exit()
        elif collecting:
            gc.enable()
        try:
            return int(args.func(args))
        except ConfigError as exc:
            return _fail(str(exc))
    finally:
        if collecting:
            gc.enable()


if __name__ == "__main__":
    sys.exit(main())
