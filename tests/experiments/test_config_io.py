from __future__ import annotations

import dataclasses
import math
import pickle
import tomllib
from dataclasses import dataclass, field
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.config_io import (
    REQUIRED,
    ConfigError,
    apply_overrides,
    check_fields,
    describe,
    from_dict,
    to_dict,
    to_toml,
)

# --- sample schema (module level so that string annotations resolve) -------------------------


@dataclass(frozen=True, slots=True)
class Flow:
    mm_rate_per_s: float = field(default=2.0, metadata={"gt": 0, "doc": "market-order rate"})
    weights: dict[str, float] = field(default_factory=dict, metadata={"ge": 0})


@dataclass(frozen=True, slots=True)
class Dealers:
    hedge_band_contracts: int = field(metadata={"ge": 0, "doc": "no-hedge band"})
    share: float = field(default=0.5, metadata={"ge": 0, "le": 1})
    lots: int = field(default=1, metadata={"choices": (1, 5, 10)})


@dataclass(frozen=True, slots=True)
class Event:
    time_s: float = field(metadata={"ge": 0})
    kind: Literal["put_buy", "news"] = "news"
    size_qty: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    start_s: float = 0.0
    end_s: float = 1.0

    def validate(self) -> None:
        if self.end_s <= self.start_s:
            raise ConfigError("end_s", f"must be > start_s ({self.start_s})", value=self.end_s)


@dataclass(frozen=True, slots=True)
class Checked:
    qty: int = field(default=1, metadata={"gt": 0})
    mode: str = "a"
    levels: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        check_fields(self)
        if self.mode == "bad":
            raise ValueError("mode 'bad' is not allowed")


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    dealers: Dealers
    flow: Flow = Flow()
    strikes: tuple[float, ...] = field(default=(), metadata={"gt": 0})
    seeds: tuple[int, ...] = ()
    verbose: bool = False
    events: tuple[Event, ...] = ()
    window: Window = Window()
    checked: Checked = Checked()
    cap_usd: float | None = None
    extra: Flow | None = None


@dataclass(frozen=True, slots=True)
class Whole:
    def validate(self) -> None:
        raise ConfigError("", "no whole")


BASE = {"name": "t", "dealers": {"hedge_band_contracts": 10}}


def load(**updates: object) -> Scenario:
    return from_dict(Scenario, {**BASE, **updates})


def error_of(data: dict) -> str:
    with pytest.raises(ConfigError) as info:
        from_dict(Scenario, data)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- reading ---------------------------------------------------------------------------------


def test_defaults_and_conversions():
    cfg = load(strikes=[100, 95.5], seeds=[1, 2], flow={"weights": {"a": 1}})
    assert cfg.flow == Flow(weights={"a": 1.0})
    assert cfg.strikes == (100.0, 95.5) and type(cfg.strikes[0]) is float
    assert cfg.seeds == (1, 2)
    assert isinstance(cfg.flow.weights["a"], float)
    assert cfg.cap_usd is None and cfg.extra is None
    assert load(cap_usd=5).cap_usd == 5.0
    assert load(extra={"mm_rate_per_s": 3}).extra == Flow(mm_rate_per_s=3.0)


def test_built_instances_are_accepted_as_tables():
    cfg = load(dealers=Dealers(3), events=[Event(1.0), {"time_s": 2}])
    assert cfg.dealers == Dealers(3) and cfg.events == (Event(1.0), Event(2.0))


def test_events_from_array_of_tables():
    text = 'name = "x"\n[dealers]\nhedge_band_contracts = 0\n[[events]]\ntime_s = 1\n'
    text += '[[events]]\ntime_s = 2.5\nkind = "put_buy"\nsize_qty = 7\n'
    cfg = from_dict(Scenario, tomllib.loads(text))
    assert cfg.events == (Event(1.0), Event(2.5, "put_buy", 7))


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        (
            {"flow": {"mm_rate_per_s": "fast"}},
            "flow.mm_rate_per_s = 'fast': expected a number (float)",
        ),
        ({"flow": {"mm_rate_per_s": True}}, "flow.mm_rate_per_s = True: expected a number (float)"),
        (
            {"dealers": {"hedge_band_contracts": 1.0}},
            "dealers.hedge_band_contracts = 1.0: expected an integer (int)",
        ),
        (
            {"dealers": {"hedge_band_contracts": False}},
            "dealers.hedge_band_contracts = False: expected an integer (int)",
        ),
        ({"verbose": 1}, "verbose = 1: expected true or false (bool)"),
        ({"name": 3}, "name = 3: expected a string (str)"),
        ({"strikes": 100.0}, "strikes = 100.0: expected an array (tuple[float, ...])"),
        ({"strikes": [100, "x"]}, "strikes[1] = 'x': expected a number (float)"),
        (
            {"events": {"time_s": 1}},
            "events = {'time_s': 1}: expected an array of tables (tuple[Event, ...])",
        ),
        ({"events": [{"time_s": 1}, 5]}, "events[1] = 5: expected a table (Event)"),
        ({"flow": 3}, "flow = 3: expected a table (Flow)"),
        ({"flow": {"weights": [1]}}, "flow.weights = [1]: expected a table (dict[str, float])"),
        ({"flow": {"weights": {"spx": "x"}}}, "flow.weights.spx = 'x': expected a number (float)"),
    ],
)
def test_type_errors(updates, message):
    assert error_of({**BASE, **updates}) == message


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        (
            {"dealers": {"hedge_band_contracts": -5}},
            "dealers.hedge_band_contracts = -5: must be >= 0",
        ),
        (
            {"dealers": {"hedge_band_contracts": 1, "share": 1.5}},
            "dealers.share = 1.5: must be >= 0 and <= 1",
        ),
        (
            {"dealers": {"hedge_band_contracts": 1, "share": math.nan}},
            "dealers.share = nan: must be >= 0 and <= 1",
        ),
        (
            {"dealers": {"hedge_band_contracts": 1, "lots": 2}},
            "dealers.lots = 2: expected one of 1, 5, 10",
        ),
        ({"flow": {"mm_rate_per_s": 0}}, "flow.mm_rate_per_s = 0: must be > 0"),
        ({"flow": {"weights": {"a": 1, "b": -1}}}, "flow.weights.b = -1: must be >= 0"),
        ({"strikes": [100, 0.0]}, "strikes[1] = 0.0: must be > 0"),
        (
            {"events": [{"time_s": 0}, {"time_s": 1}, {"time_s": -2}]},
            "events[2].time_s = -2: must be >= 0",
        ),
        (
            {"events": [{"time_s": 0, "kind": "put"}]},
            "events[0].kind = 'put': expected one of 'put_buy', 'news' (did you mean 'put_buy'?)",
        ),
    ],
)
def test_range_and_choice_errors(updates, message):
    assert error_of({**BASE, **updates}) == message


def test_missing_required_key():
    assert error_of({"name": "x"}) == "missing required key 'dealers' (Dealers)"
    assert error_of({"name": "x", "dealers": {}}) == (
        "missing required key 'dealers.hedge_band_contracts' (int)"
    )
    assert error_of({**BASE, "events": [{"kind": "news"}]}) == (
        "missing required key 'events[0].time_s' (float)"
    )


def test_unknown_key_with_suggestion():
    message = error_of({**BASE, "flow": {"mm_rte_per_s": 1.0}})
    assert message == (
        "unknown key 'flow.mm_rte_per_s' (did you mean 'flow.mm_rate_per_s'?); "
        "allowed: mm_rate_per_s, weights"
    )
    message = error_of({**BASE, "zzz": 1})
    assert message.startswith("unknown key 'zzz'; allowed: name, dealers, flow, strikes,")
    with pytest.raises(ConfigError) as info:
        from_dict(Scenario, {**BASE, "events": [{"time_s": 0, "tme_s": 1}]})
    assert info.value.key == "events[0].tme_s"
    assert "(did you mean 'events[0].time_s'?)" in str(info.value)


def test_unknown_key_reported_before_missing():
    message = error_of({"name": "x", "dealers": {"hedge_band_contract": 3}})
    assert message.startswith(
        "unknown key 'dealers.hedge_band_contract' (did you mean 'dealers.hedge_band_contracts'?)"
    )


def test_cross_field_hooks_get_the_dotted_prefix():
    assert error_of({**BASE, "window": {"start_s": 5, "end_s": 2}}) == (
        "window.end_s = 2.0: must be > start_s (5.0)"
    )
    assert error_of({**BASE, "checked": {"qty": 0}}) == "checked.qty = 0: must be > 0"
    assert error_of({**BASE, "checked": {"mode": "bad"}}) == "checked: mode 'bad' is not allowed"
    with pytest.raises(ConfigError, match=r"^end_s = 0.0: must be > start_s \(0.0\)$"):
        from_dict(Window, {"end_s": 0})
    with pytest.raises(ConfigError, match=r"^Whole: no whole$"):
        from_dict(Whole, {})
    with pytest.raises(ConfigError, match=r"^win.end_s = "):
        from_dict(Window, {"end_s": 0}, path="win")


def test_check_fields_guards_dataclasses_replace():
    cfg = load()
    with pytest.raises(ConfigError, match=r"^qty = -1: must be > 0$"):
        dataclasses.replace(cfg.checked, qty=-1)
    with pytest.raises(ConfigError, match=r"^qty = 'x': expected an integer \(int\)$"):
        Checked(qty="x")
    with pytest.raises(ConfigError, match=r"^levels\[1\] = 'x': expected a number \(float\)$"):
        Checked(levels=[1, "x"])
    normalised = Checked(levels=[1, 2])
    assert normalised.levels == (1.0, 2.0) and type(normalised.levels[0]) is float
    assert hash(normalised) == hash(Checked(levels=(1.0, 2.0)))


def test_config_error_pickles():
    with pytest.raises(ConfigError) as info:
        load(events=[{"time_s": -1}])
    for err in (info.value, ConfigError("a.b", "bad")):
        back = pickle.loads(pickle.dumps(err))
        assert type(back) is ConfigError and str(back) == str(err)
        assert (back.key, back.problem, back.value) == (err.key, err.problem, err.value)
    assert pickle.loads(pickle.dumps(REQUIRED)) is REQUIRED


def test_config_error_is_value_error_with_attributes():
    with pytest.raises(ValueError) as info:
        load(dealers={"hedge_band_contracts": -5})
    err = info.value
    assert isinstance(err, ConfigError)
    assert (err.key, err.value, err.problem) == ("dealers.hedge_band_contracts", -5, "must be >= 0")
    assert error_of({**BASE, "verbose": 7 * "line\n"}).count("\\n") == 7  # stays one line


def test_result_is_frozen_and_input_untouched():
    data = {**BASE, "strikes": [1, 2], "events": [{"time_s": 1}]}
    before = repr(data)
    cfg = from_dict(Scenario, data)
    assert repr(data) == before
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.name = "y"
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.dealers.share = 0.1
    assert not hasattr(cfg, "__dict__")  # slotted
    assert isinstance(cfg.strikes, tuple) and isinstance(cfg.events, tuple)


def test_schema_mistakes_are_type_errors():
    @dataclass(frozen=True)
    class BadOptional:
        x: float | None = 1.0

    @dataclass(frozen=True)
    class BadType:
        x: list

    with pytest.raises(TypeError, match="must default to None"):
        from_dict(BadOptional, {})
    with pytest.raises(TypeError, match="unsupported config field type"):
        from_dict(BadType, {"x": []})


# --- overrides -------------------------------------------------------------------------------


def test_overrides_nested_and_typed():
    data = {**BASE, "events": [{"time_s": 1}, {"time_s": 2}]}
    out = apply_overrides(
        data,
        [
            "flow.mm_rate_per_s=1e9",
            "verbose=true",
            'name="a b"',
            "strikes=[1, 2.5]",
            "events.1.time_s=7",
            "events[0].kind=put_buy",
            "dealers.hedge_band_contracts = 3",
            "dealers.hedge_band_contracts=4",
        ],
    )
    assert data == {**BASE, "events": [{"time_s": 1}, {"time_s": 2}]}  # not mutated
    cfg = from_dict(Scenario, out)
    assert cfg.flow.mm_rate_per_s == 1e9
    assert cfg.verbose is True and cfg.name == "a b" and cfg.strikes == (1.0, 2.5)
    assert cfg.events == (Event(1.0, "put_buy"), Event(7.0))
    assert cfg.dealers.hedge_band_contracts == 4  # later override wins


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("fast", "fast"),
        ("a=b", "a=b"),
        ("", ""),
        ("2025-11-20", "2025-11-20"),
        ("1\nother = 2", "1\nother = 2"),
        ("'lit'", "lit"),
        ("-inf", -math.inf),
        ("0x10", 16),
        ("{a = 1}", {"a": 1}),
    ],
)
def test_override_values_are_toml_or_text(raw, expected):
    assert apply_overrides({}, [f"k={raw}"]) == {"k": expected}


def test_override_creates_missing_tables_and_unknown_keys_fail_in_from_dict():
    out = apply_overrides(BASE, ["flow.weights.spx=0.3"])
    assert from_dict(Scenario, out).flow.weights == {"spx": 0.3}
    bad = apply_overrides(BASE, ["flow.mm_rte_per_s=2"])
    assert error_of(bad).startswith("unknown key 'flow.mm_rte_per_s' (did you mean")


@pytest.mark.parametrize("text", ["flow.mm_rate_per_s", "=3", "a..b=1", "a.=1", "a[x]=1", "a b=1"])
def test_malformed_override(text):
    with pytest.raises(ConfigError) as info:
        apply_overrides(BASE, [text])
    assert str(info.value) == (
        f"malformed override {text!r}: expected dotted.key=value, e.g. flow.rate=2.5"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("events[2].time_s=1", "events[2]: index out of range (array of 2)"),
        ("events.x=1", "events: is an array of 2; index it, e.g. events[0]"),
        ("name.x=1", "name = 't': is not a table, cannot set 'x' inside it"),
        ("dealers[0]=1", "dealers: is not an array, cannot index it with [0]"),
    ],
)
def test_override_path_errors(text, message):
    with pytest.raises(ConfigError) as info:
        apply_overrides({**BASE, "events": [{"time_s": 1}, {"time_s": 2}]}, [text])
    assert str(info.value) == message


# --- writing ---------------------------------------------------------------------------------


def test_to_dict_omits_none_and_uses_lists():
    cfg = load(events=[{"time_s": 1}])
    out = to_dict(cfg)
    assert "cap_usd" not in out and "extra" not in out
    assert out["events"] == [{"time_s": 1.0, "kind": "news", "size_qty": 0}]
    assert out["strikes"] == []
    with pytest.raises(TypeError):
        to_dict(Scenario)


def test_to_toml_layout_and_special_values():
    text = to_toml(load(events=[{"time_s": 1}, {"time_s": 2}], flow={"weights": {"a.b": 1}}))
    assert text.startswith('name = "t"\nstrikes = []\n')
    assert "\n[[events]]\ntime_s = 1.0\n" in text and text.count("[[events]]") == 2
    assert '\n[flow.weights]\n"a.b" = 1.0\n' in text
    doc = {"s": 'q"\\\t\n\x00\x7fé', "f": [math.inf, -math.inf, -0.0, 1e-300, 0.1], "n": math.nan}
    back = tomllib.loads(to_toml(doc))
    assert back["s"] == doc["s"] and math.isnan(back["n"])
    assert [repr(x) for x in back["f"]] == [repr(x) for x in doc["f"]]


finite = st.floats(allow_nan=False, allow_infinity=False)
not_nan = st.floats(allow_nan=False)
keys = st.text(max_size=8)
events = st.builds(
    Event,
    time_s=st.floats(min_value=0, allow_nan=False),
    kind=st.sampled_from(["put_buy", "news"]),
    size_qty=st.integers(-(2**63), 2**63 - 1),
)
scenarios = st.builds(
    Scenario,
    name=st.text(),
    dealers=st.builds(
        Dealers,
        hedge_band_contracts=st.integers(min_value=0, max_value=2**63 - 1),
        share=st.floats(0, 1),
        lots=st.sampled_from([1, 5, 10]),
    ),
    flow=st.builds(
        Flow,
        mm_rate_per_s=st.floats(min_value=0, exclude_min=True, allow_nan=False),
        weights=st.dictionaries(keys, st.floats(min_value=0, allow_nan=False), max_size=3),
    ),
    strikes=st.lists(st.floats(min_value=0, exclude_min=True, allow_nan=False), max_size=4).map(
        tuple
    ),
    seeds=st.lists(st.integers(-(2**63), 2**63 - 1), max_size=4).map(tuple),
    verbose=st.booleans(),
    events=st.lists(events, max_size=3).map(tuple),
    window=st.builds(Window, start_s=st.just(-math.inf), end_s=finite),
    checked=st.builds(
        Checked, qty=st.integers(1, 10**6), mode=st.text().filter(lambda s: s != "bad")
    ),
    cap_usd=st.none() | not_nan,
    extra=st.none() | st.builds(Flow, mm_rate_per_s=st.floats(1e-300, 1e300)),
)


@settings(max_examples=150, deadline=None)
@given(scenarios)
def test_round_trip_through_toml(cfg):
    text = to_toml(cfg)
    back = from_dict(Scenario, tomllib.loads(text))
    assert back == cfg
    assert to_toml(back) == text  # exact floats, including -0.0 and inf


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(["flow.mm_rate_per_s", "dealers.share", "events[0].time_s"]), not_nan)
def test_override_then_round_trip(key, value):
    data = apply_overrides({**BASE, "events": [{"time_s": 1}]}, [f"{key}={value!r}"])
    try:
        cfg = from_dict(Scenario, data)
    except ConfigError as err:
        assert err.key == key and err.value == value
        return
    assert from_dict(Scenario, tomllib.loads(to_toml(cfg))) == cfg


# --- describe --------------------------------------------------------------------------------


def test_describe():
    rows = {key: (tp, default, doc) for key, tp, default, doc in describe(Scenario)}
    assert rows["name"] == ("str", REQUIRED, "")
    assert rows["dealers.hedge_band_contracts"] == ("int (>= 0)", REQUIRED, "no-hedge band")
    assert rows["dealers.share"] == ("float (>= 0, <= 1)", 0.5, "")
    assert rows["dealers.lots"] == ("int (one of 1, 5, 10)", 1, "")
    assert rows["flow.mm_rate_per_s"] == ("float (> 0)", 2.0, "market-order rate")
    assert rows["flow.weights"] == ("dict[str, float] (>= 0)", {}, "")
    assert rows["strikes"] == ("tuple[float, ...] (> 0)", (), "")
    assert rows["events"] == ("tuple[Event, ...]", (), "")
    assert rows["events[].kind"] == ("'put_buy' | 'news'", "news", "")
    assert rows["events[].time_s"][1] is REQUIRED
    assert rows["cap_usd"] == ("float | None", None, "")
    assert rows["extra"] == ("Flow | None", None, "")
    assert rows["extra.mm_rate_per_s"][1] == 2.0
    assert "flow" not in rows and "window" not in rows
    assert repr(REQUIRED) == "REQUIRED"
