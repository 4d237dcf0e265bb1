"""Hostile command lines: every one exits with code 2, one line on stderr, no traceback, nothing written.

The table runs :func:`experiments.cli.main` in-process (an interpreter start costs ~3 s of imports);
a handful of cases run the real ``cascade`` process. Every case must be refused *before* anything is
simulated, so the whole table takes seconds. The output-folder cases cover file problems (a file, a
path under a file, a folder that cannot be created, a non-empty folder that is not a run); the config
cases include every float of the scenario schema set to NaN and to +-inf, and every integer set to
+-2^63.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.config import ScenarioConfig
from experiments.config_io import describe

ROOT = Path(__file__).resolve().parents[2]
# documented infinities: max_participation inf = no cap; hedge_start_s -inf = from the session's start,
# inf = never
ALLOW_INF = {"dealers.max_participation": ("inf",), "dealers.hedge_start_s": ("-inf", "inf")}

# ---------------------------------------------------------------------------- the table
# ``{tmp}`` is replaced by the test's folder, ``{out}`` by a fresh output path inside it.
RUN = ["run", "nov20_2025", "--out", "{out}"]
CASES: list[tuple[str, list[str]]] = []


def case(name: str, *argv: str) -> None:
    """Add one bad command line to the table."""
    CASES.append((name, list(argv)))


# the cases of issue 14
ISSUE = """market.session_end_s=inf market.session_end_s=1e12 market.session_start_s=nan
market.tick_size_points=1e-300 prev_close_points=inf flow.snapshot_interval_s=1e-12 events[1].t_s=nan
cta.daily_closes=[nan,1.0,2.0] options.positions[0].customer_qty=9223372036854775807 sample_interval_s=1e-9
flow.noise_limit_rate_per_s=1e12 flow.mm_size_qty=2e17 cta.lookbacks_days=[0] cta.lookbacks_days=[-5]"""
# more bounds: memory, sizes, prices, session, names, types (one override per word)
BOUNDS = """market.session_start_s=-1e9 market.session_end_s=-1 market.session_start_s=-34201
market.tick_size_points=0 market.tick_size_points=1e9 prev_close_points=0.5 prev_close_points=1e300
market.point_value_usd=-1 market.band_pct=100 flow.noise_market_rate_per_s=1e6 flow.mm_requote_rate_per_s=1e9
flow.mm_size_decay=50 flow.mm_refill_latency_s=1e-12 flow.activity_vol=40 flow.value_rate_gain=1e6
flow.noise_market_max_qty=1e30 flow.mm_levels=1000 flow.n_market_makers=100000
flow.depth_window_ticks=10000000 flow.noise_market_rate_per_s=900 sample_interval_s=0 sample_interval_s=-5
options.positions[0].expiry_day=99999999
options.positions[0].strike_pct=nan options.event_premia[0].t_s=inf options.event_premia[0].event_day=1000000
events[0].t_s=1e300 dealers.n_agents=1000000 dealers.hedge_interval_s=1e-9 dealers.max_participation=nan
hedgers.decision_interval_s=0.0001 hedgers.panic_qty=10000000000 cta.n_agents=100000 cta.slice_interval_s=1e-6
cta.daily_closes=[] cta.lookbacks_days=[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21]
dip_buyers.n_agents=100000000 dip_buyers.capital_usd=1e300 levels.supports=[nan] levels.supports=[-1.0]
name="" name="../../etc" name="a\u0020b" name="x\ny" name=1 flow.mm_size_qty=abc flow=3 events=5
events[9].t_s=1 nosuch.key=1 flow.mm_sizeqty=1 market.session_end_s sample_interval_s=1
market.session_end_s=23401 market.session_end_s=52200"""
for text in ISSUE.split():
    case(f"issue:{text}", *RUN, "--set", text)
for text in BOUNDS.split():
    case(f"bound:{text}", *RUN, "--set", text)
# every float of the schema as NaN and +-inf, every integer as +-2^63 (beyond int64)
for key, type_name, _, _ in describe(ScenarioConfig):
    if "[]" in key:
        continue
    if type_name.startswith("float"):
        case(f"nan:{key}", *RUN, "--set", f"{key}=nan")
        for inf in ("-inf", "inf"):
            if inf not in ALLOW_INF.get(key, ()):
                case(f"{inf}:{key}", *RUN, "--set", f"{key}={inf}")
    elif type_name.startswith("int"):
        case(f"2^63:{key}", *RUN, "--set", f"{key}=9223372036854775808")
        case(f"-2^63:{key}", *RUN, "--set", f"{key}=-9223372036854775809")
# scenario files
case("scenario: missing file", "run", "{tmp}/nope.toml", "--out", "{out}")
case("scenario: unknown name", "run", "no_such_scenario", "--out", "{out}")
case("scenario: a directory", "run", "{tmp}/adir", "--out", "{out}")
case("scenario: binary file", "run", "{tmp}/binary.toml", "--out", "{out}")
case("scenario: latin-1 file", "run", "{tmp}/latin1.toml", "--out", "{out}")
case("scenario: empty file", "run", "{tmp}/empty.toml", "--out", "{out}")
case("scenario: nameless file", "run", "{tmp}/nameless.toml", "--out", "{out}")
case("scenario: bad TOML", "run", "{tmp}/bad.toml", "--out", "{out}")
case("scenario: huge file", "run", "{tmp}/huge.toml", "--out", "{out}")
case("scenario: array root", "run", "{tmp}/array.toml", "--out", "{out}")
# output folders
case("out: a file", "run", "calm", "--out", "{tmp}/afile")
case("out: under a file", "run", "calm", "--out", "{tmp}/afile/sub")
case("out: deep under a file", "run", "calm", "--out", "{tmp}/afile/a/b/c")
case("out: not creatable", "run", "calm", "--out", "/proc/version/x")
case("out: in /proc", "run", "calm", "--out", "/proc/cascade-out")
case("out: non-empty folder", "run", "calm", "--out", "{tmp}/full")
case("out: empty name", "run", "calm", "--out", "")
# other arguments of run
case("seed: negative", "run", "calm", "--seed", "-1", "--out", "{out}")
case("seed: 2^64", "run", "calm", "--seed", str(2**64), "--out", "{out}")
case("seed: text", "run", "calm", "--seed", "abc", "--out", "{out}")
case("seed: float", "run", "calm", "--seed", "1.5", "--out", "{out}")
case("run: no --out", "run", "calm")
case("run: unknown flag", "run", "calm", "--out", "{out}", "--bogus")
case("no command")
case("unknown command", "explode")
# sweeps
SWEEP = ["sweep", "calm", "--workers", "1", "--no-progress"]
case("sweep: out a file", *SWEEP, "--out", "{tmp}/afile")
case("sweep: out under a file", *SWEEP, "--out", "{tmp}/afile/sweep")
case("sweep: out not creatable", *SWEEP, "--out", "/proc/version/sweep")
case("sweep: out non-empty", *SWEEP, "--out", "{tmp}/full")
case("sweep: grid nan", *SWEEP, "--grid", "flow.mm_size_qty=nan", "--out", "{out}")
case("sweep: grid inf", *SWEEP, "--grid", "market.session_end_s=1,inf", "--out", "{out}")
case("sweep: grid malformed", *SWEEP, "--grid", "flow.mm_size_qty", "--out", "{out}")
case("sweep: grid empty", *SWEEP, "--grid", "flow.mm_size_qty=", "--out", "{out}")
case("sweep: grid unknown key", *SWEEP, "--grid", "flow.nope=1,2", "--out", "{out}")
case("sweep: seeds 0", *SWEEP, "--seeds", "0", "--out", "{out}")
case("sweep: seeds text", *SWEEP, "--seeds", "many", "--out", "{out}")
case("sweep: workers 0", "sweep", "calm", "--workers", "0", "--out", "{out}")
case("sweep: workers and scheduler", *SWEEP, "--scheduler", "tcp://127.0.0.1:1", "--out", "{out}")
case("sweep: worker timeout 0", *SWEEP, "--worker-timeout", "0", "--out", "{out}")
case("sweep: worker timeout nan", *SWEEP, "--worker-timeout", "nan", "--out", "{out}")
case("sweep: worker timeout text", *SWEEP, "--worker-timeout", "soon", "--out", "{out}")
case("sweep: set nan", *SWEEP, "--set", "flow.activity_vol=nan", "--out", "{out}")
case("sweep: scenario dir", "sweep", "{tmp}/adir", "--workers", "1", "--out", "{out}")
case("attribute: out a file", "attribute", "calm", "--workers", "1", "--out", "{tmp}/afile")
case("attribute: bad class", "attribute", "calm", "--classes", "nobody", "--workers", "1", "--out", "{out}")
# plot
case("plot: missing folder", "plot", "{tmp}/nothing")
case("plot: a file", "plot", "{tmp}/afile")
case("plot: not a run folder", "plot", "{tmp}/full")
# the page: checked before any server starts
case("viz: unknown scenario", "viz", "no_such_scenario", "--port", "{port}")
case("viz: scenario dir", "viz", "{tmp}/adir", "--port", "{port}")
case("viz: scenario nan", "viz", "{tmp}/nan.toml", "--port", "{port}")
case("viz: port 99999", "viz", "calm", "--port", "99999")
case("viz: port 0", "viz", "calm", "--port", "0")
case("viz: port -1", "viz", "calm", "--port", "-1")
case("viz: port text", "viz", "calm", "--port", "http")
case("viz: port in use", "viz", "calm", "--port", "{busy}")


def test_the_table_is_large():
    assert len(CASES) >= 100
    assert len({name for name, _ in CASES}) == len(CASES)


@pytest.fixture(scope="module")
def arena(tmp_path_factory) -> Path:
    """A folder with the hostile files the table points at."""
    tmp = tmp_path_factory.mktemp("hostile")
    (tmp / "adir").mkdir()
    (tmp / "binary.toml").write_bytes(bytes(range(256)) * 4)
    (tmp / "latin1.toml").write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    (tmp / "empty.toml").write_text("")
    (tmp / "nameless.toml").write_text('description = "no name"\n[market]\nsession_end_s = 600.0\n')
    (tmp / "bad.toml").write_text("name = \n[[[")
    (tmp / "huge.toml").write_text('name = "huge"\n' + "# padding\n" * 150_000)
    (tmp / "array.toml").write_text("name = [1, 2]\n")
    (tmp / "nan.toml").write_text('name = "nan"\nprev_close_points = nan\n')
    (tmp / "afile").write_text("not a folder\n")
    (tmp / "full").mkdir()
    (tmp / "full" / "notes.txt").write_text("someone's notes\n")
    return tmp


def snapshot(root: Path) -> dict[str, int]:
    """Every path under ``root`` with its size (files) or -1 (folders)."""
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1) for p in root.rglob("*")}


def run_main(argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)`` in-process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(("name", "argv"), CASES, ids=[name for name, _ in CASES])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(name, argv, arena, tmp_path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        free = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
        free.close()
        out = tmp_path / "out"
        busy_port = str(busy.getsockname()[1])
        fill = {"{tmp}": str(arena), "{out}": str(out), "{port}": str(port), "{busy}": busy_port}
        args = []
        for a in argv:
            for k, v in fill.items():
                a = a.replace(k, v)
            args.append(a)
        before = snapshot(arena)
        code, stdout, stderr = run_main(args)
    assert code == 2, f"{name}: exit {code}\n{stderr}"
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cascade: error: "), f"{name}: {stderr!r}"
    assert "Traceback" not in stderr + stdout
    assert not out.exists(), f"{name}: wrote {out}"
    assert snapshot(arena) == before, f"{name}: changed the arena"
    assert not list(tmp_path.parent.glob(".*.tmp-*"))  # no temporary run folder left


# ---------------------------------------------------------------------------- real processes
def cascade(*args: str, timeout: float = 300.0) -> subprocess.CompletedProcess:
    """Run ``python -m experiments.cli`` with the repository's numba cache."""
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    return subprocess.run([sys.executable, "-m", "experiments.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "nov20_2025", "--set", "market.session_end_s=inf", "--out", "{out}"],
        ["run", "calm", "--set", "flow.mm_size_qty=2e17", "--out", "{out}"],
        ["viz", "no_such_scenario", "--port", "8799"],
        ["viz", "calm", "--port", "99999"],
        ["run", "calm", "--out", "{file}/sub"],
    ],
)
def test_real_process_exits_2_with_one_line(argv, tmp_path):
    (tmp_path / "file").write_text("x")
    out = tmp_path / "out"
    args = [a.replace("{out}", str(out)).replace("{file}", str(tmp_path / "file")) for a in argv]
    proc = cascade(*args)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not out.exists()


def _answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_viz_stops_its_server_on_sigterm_and_sigint(sig, tmp_path):
    pytest.importorskip("solara")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, SOLARA_TELEMETRY_MIXPANEL_ENABLE="False")
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    log = (tmp_path / "viz.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "experiments.cli", "viz", "calm", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        while not _answers(port):
            assert proc.poll() is None, (tmp_path / "viz.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.5)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 15
        while _answers(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _answers(port), "the solara server still listens after cascade viz was stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
