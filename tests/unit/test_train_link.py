"""'Train again with these settings': a run's settings travel in a link and open the Train
page with exactly them; any odd link value is ignored."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from classifier.ml.models import preset_config
from classifier.store.runs import COMPLETED, RunStore
from classifier.views.train import SETTINGS, Keys, settings_from_link, settings_params

APP = str(Path(__file__).resolve().parent.parent / "app.py")
CONFIG = replace(
    preset_config("Small CNN"),
    epochs=7,
    batch_size=64,
    learning_rate=0.0005,
    optimizer="sgd",
    dropout=0.2,
    train_limit=5000,
    augment=True,
    seed=1234,
    label_smoothing=0.15,  # not the preset's 0.1
    precision="float32",  # not the preset's bfloat16
)


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


@given(st.dictionaries(st.sampled_from(["preset", *[s.field for s in SETTINGS]]), st.text()))
def test_any_link_gives_settings_the_widgets_can_show(params):
    for key, value in settings_from_link(params).items():
        assert value is not None, key


def test_the_link_opens_the_train_page_with_those_settings(runs_root):
    writer = RunStore(runs_root).create_run(CONFIG.to_dict(), "to repeat")
    writer.write_status(status=COMPLETED, test_accuracy=0.9, epochs_done=7)
    writer.release()
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page("pages/train.py").run()
    link = next(link for link in app.get("page_link") if "Train again" in link.proto.label)
    assert "epochs=7" in link.proto.page or "epochs" in str(link.proto)
    fresh = AppTest.from_file(APP, default_timeout=60)
    fresh.query_params.update(settings_params(CONFIG))
    fresh.run()
    fresh.switch_page("pages/train.py").run()
    assert not fresh.exception
    assert fresh.selectbox(key="train_preset").value == "Small CNN"
    assert fresh.slider(key="train_epochs").value == 7
    assert fresh.select_slider(key="train_batch_size").value == 64
    assert fresh.selectbox(key="train_optimizer").value == "sgd"
