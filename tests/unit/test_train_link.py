"""'Train again with these settings': a run's settings travel in a link and come back exactly;
any odd link value is ignored. (The link on the Train page, in AppTest:
tests/app/test_train_link.py.)"""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from classifier.ml.models import PRESETS, preset_config
from classifier.views.train import SETTINGS, Keys, Setting, settings_from_link, settings_params
from tests.support.links import CONFIG


def test_a_runs_settings_survive_the_round_trip_through_the_link():
    state = settings_from_link(settings_params(CONFIG))
    assert state[Keys.PRESET] == "Small CNN"
    for setting in SETTINGS:
        assert state[setting.key] == getattr(CONFIG, setting.field), setting.field


def test_odd_values_are_left_at_the_presets():
    params = settings_params(CONFIG) | {
        "epochs": "999",
        "batch_size": "33",
        "augment": "maybe",
        "learning_rate": "nan",
        "seed": "²",
    }
    state = settings_from_link(params)
    defaults = preset_config("Small CNN")
    assert state["train_epochs"] == defaults.epochs and state["train_batch_size"] == 128
    assert state["train_augment"] is False and state["train_seed"] == defaults.seed
    assert state["train_optimizer"] == "sgd"  # the valid ones still count
    assert settings_from_link({"preset": "GPT-5"}) == {} and settings_from_link({}) == {}


def widget_can_show(setting: Setting, value) -> bool:
    """Is `value` one that the setting's widget offers (a choice, or a number in its range
    and of its type)?"""
    kind = type(getattr(PRESETS["Tutorial MLP"].defaults, setting.field))
    if type(value) is not kind:
        return False
    if setting.widget in ("select_slider", "selectbox"):
        return value in setting.options
    if setting.widget in ("slider", "number"):
        low, high = setting.options[:2]
        return math.isfinite(value) and low <= value <= high
    return setting.widget == "checkbox"


# Link values: any text, and texts close to real values (numbers in and out of range,
# choices and near-choices), where a missing check would show.
CHOICES = sorted({str(o) for s in SETTINGS if s.widget.startswith("select") for o in s.options})
LINK_VALUE = st.one_of(
    st.text(),
    st.integers(min_value=-10, max_value=100_000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from([*CHOICES, "True", "False", "true", "false", "ADAM", "1e400"]),
)
PRESET_VALUE = st.one_of(st.sampled_from(list(PRESETS)), st.text())


@given(
    st.dictionaries(st.sampled_from([s.field for s in SETTINGS]), LINK_VALUE),
    PRESET_VALUE,
)
def test_any_link_gives_settings_the_widgets_can_show(params, preset):
    state = settings_from_link({"preset": preset, **params})
    if preset not in PRESETS:
        assert state == {}  # a link without a known preset asks for nothing
        return
    assert state[Keys.PRESET] == preset
    assert set(state) == {Keys.PRESET} | {setting.key for setting in SETTINGS}
    for setting in SETTINGS:
        value = state[setting.key]
        assert widget_can_show(setting, value), (setting.field, params.get(setting.field), value)
