"""The model presets and the training configuration a user edits on the Train page."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from classifier.ml.models import (
    PRESETS,
    TrainConfig,
    build_model,
    loss_targets,
    preset_config,
    trains_with_xla,
)


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_preset_builds_a_model_that_outputs_ten_logits(name):
    config = preset_config(name)
    model = build_model(config, steps_per_epoch=10)
    batch = np.random.default_rng(0).random((2, 28, 28), dtype=np.float32)
    logits = np.asarray(model(batch, training=False))
    assert logits.shape == (2, 10)
    assert np.isfinite(logits).all()
    assert model.count_params() > 0
    # Compiled, so `fit` can start right away; the loss takes logits, as the tutorial's does.
    assert model.optimizer is not None
    assert model.loss.get_config()["from_logits"] is True


def test_presets_differ_as_their_summaries_promise():
    assert PRESETS["Tutorial MLP"].defaults == TrainConfig(preset="Tutorial MLP")
    assert PRESETS["Best CNN"].defaults.epochs > PRESETS["Small CNN"].defaults.epochs
    for preset in PRESETS.values():
        assert preset.summary
        preset.defaults.validate()  # every preset's own defaults are valid


def test_the_tutorial_mlp_is_exactly_the_tutorial_model():
    model = build_model(preset_config("Tutorial MLP"), steps_per_epoch=10)
    # Flatten 784 -> Dense 128 -> Dense 10: 784*128+128 + 128*10+10 parameters.
    assert model.count_params() == 784 * 128 + 128 + 128 * 10 + 10


def test_preset_config_applies_overrides_and_validates_them():
    config = preset_config("Small CNN", epochs=3, train_limit=6000)
    assert (config.preset, config.epochs, config.train_limit) == ("Small CNN", 3, 6000)
    assert config.batch_size == PRESETS["Small CNN"].defaults.batch_size
    with pytest.raises(ValueError, match="Epochs"):
        preset_config("Small CNN", epochs=0)
    with pytest.raises(ValueError, match="Unknown preset"):
        preset_config("Huge Transformer")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"preset": "ResNet"}, "Unknown preset"),
        ({"epochs": 0}, "Epochs must be between 1 and 200"),
        ({"epochs": 201}, "Epochs must be between 1 and 200"),
        ({"batch_size": 0}, "Batch size"),
        ({"batch_size": 5000}, "Batch size"),
        ({"learning_rate": 0.0}, "learning rate"),
        ({"learning_rate": -0.1}, "learning rate"),
        ({"learning_rate": 2.0}, "learning rate"),
        ({"optimizer": "lion"}, "optimizer must be one of"),
        ({"schedule": "step"}, "schedule must be one of"),
        ({"hidden_units": 0}, "Hidden units"),
        ({"dropout": 1.0}, "Dropout"),
        ({"dropout": -0.1}, "Dropout"),
        ({"validation_split": 0.5}, "validation split"),
        ({"validation_split": -0.1}, "validation split"),
        ({"train_limit": -1}, "training limit"),
        ({"train_limit": 60_001}, "training limit"),
        ({"strategy": "tpu"}, "strategy must be one of"),
        ({"devices": 0}, "Devices"),
        ({"precision": "float8"}, "arithmetic must be one of"),
        ({"label_smoothing": 0.5}, "Label smoothing"),
        ({"label_smoothing": -0.1}, "Label smoothing"),
    ],
)
def test_validate_rejects_bad_values_with_a_message_a_user_can_act_on(change, message):
    config = dataclasses.replace(TrainConfig(), **change)
    with pytest.raises(ValueError, match=message):
        config.validate()


def test_validate_returns_the_config_when_it_is_fine():
    config = TrainConfig(epochs=1, train_limit=1000, validation_split=0.1)
    assert config.validate() is config


def test_from_dict_round_trips_and_ignores_unknown_keys():
    config = preset_config("Best CNN", epochs=5)
    stored = {**config.to_dict(), "name": "my run", "written_by": "a newer version"}
    assert TrainConfig.from_dict(stored) == config
    # An old config.json with fewer keys gets today's defaults for the rest, and the
    # architecture of its preset (configs written before `architecture` existed).
    old = TrainConfig.from_dict({"preset": "Small CNN"})
    assert old == TrainConfig(preset="Small CNN", architecture="cnn")
    assert TrainConfig.from_dict({"preset": "Best CNN"}).architecture == "cnn-bn"
    assert TrainConfig.from_dict({"preset": "Tutorial MLP"}).architecture == "mlp"


def test_the_architecture_field_not_the_preset_name_chooses_the_layers():
    """A renamed preset keeps its layers: build_model reads `architecture` only."""
    from dataclasses import replace

    layers = {}
    for architecture in ("mlp", "cnn", "cnn-bn"):
        config = replace(preset_config("Tutorial MLP"), architecture=architecture)
        model = build_model(config, steps_per_epoch=10)
        layers[architecture] = {type(layer).__name__ for layer in model.layers}
    assert "Conv2D" not in layers["mlp"]
    assert "Conv2D" in layers["cnn"] and "BatchNormalization" not in layers["cnn"]
    assert "BatchNormalization" in layers["cnn-bn"]
    with pytest.raises(ValueError, match="model must be one of"):
        replace(preset_config("Small CNN"), architecture="transformer").validate()


def test_a_config_written_by_hand_or_another_version_still_reads():
    """A list as the preset (unhashable) crashed the Train page showing that run."""
    odd = TrainConfig.from_dict({"preset": ["x"], "epochs": "abc"})
    assert odd.architecture == "mlp"  # nothing derived from an odd preset
    with pytest.raises(ValueError, match="preset"):
        odd.validate()
    with pytest.raises(ValueError, match="wrong kind"):
        TrainConfig(epochs="abc").validate()


def test_a_bfloat16_model_trains_outputs_float32_and_loads_in_plain_keras(tmp_path):
    """bfloat16 arithmetic (a CPU with AVX-512 BF16 does it faster) keeps float32 weights
    and float32 logits, and leaves the next model built in the process in float32."""
    import keras

    model = build_model(preset_config("Small CNN", precision="bfloat16"), steps_per_epoch=2)
    conv = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D))
    assert (conv.compute_dtype, conv.variable_dtype) == ("bfloat16", "float32")
    assert model.get_layer("logits").compute_dtype == "float32"
    assert keras.mixed_precision.global_policy().name == "float32"
    plain = build_model(preset_config("Small CNN", precision="float32"), steps_per_epoch=2)
    assert all(layer.compute_dtype == "float32" for layer in plain.layers)

    rng = np.random.default_rng(0)
    images = rng.random((64, 28, 28), dtype=np.float32)
    labels = loss_targets(model, rng.integers(0, 10, 64))
    model.fit(images, labels, batch_size=32, epochs=1, verbose=0)
    logits = model.predict(images, verbose=0)
    assert logits.dtype == np.float32 and np.isfinite(logits).all()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), logits, rtol=1e-5, atol=1e-5)


def test_label_smoothing_trains_on_one_hot_targets_and_reports_plain_accuracy():
    """Keras' sparse loss has no label smoothing, so a smoothed model takes one-hot rows;
    its accuracy is still the share of pictures whose top class is the label."""
    labels = np.array([3, 0, 9])
    plain = build_model(preset_config("Tutorial MLP"), steps_per_epoch=2)
    assert loss_targets(plain, labels).tolist() == [3, 0, 9]
    smooth = build_model(preset_config("Tutorial MLP", label_smoothing=0.1), steps_per_epoch=2)
    assert smooth.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
    assert smooth.loss.get_config()["from_logits"] is True
    assert loss_targets(smooth, labels).tolist() == np.eye(10)[labels].tolist()

    rng = np.random.default_rng(0)
    images, labels = rng.random((64, 28, 28), dtype=np.float32), rng.integers(0, 10, 64)
    smooth.fit(images, loss_targets(smooth, labels), epochs=1, verbose=0)
    _, accuracy = smooth.evaluate(images, loss_targets(smooth, labels), verbose=0)
    top = smooth.predict(images, verbose=0).argmax(axis=1)
    assert accuracy == pytest.approx(np.mean(top == labels))


def test_the_multi_worker_loop_smooths_labels_as_fit_does():
    """Multi-worker runs train in training.CustomLoop, which calls the compiled loss itself:
    with label smoothing it must measure the loss Keras' own fit and evaluate measure."""
    import keras
    import tensorflow as tf

    from classifier.ml.training import CustomLoop

    rng = np.random.default_rng(0)
    images, labels = rng.random((256, 28, 28), dtype=np.float32), rng.integers(0, 10, 256)
    model = build_model(preset_config("Tutorial MLP", label_smoothing=0.1), steps_per_epoch=4)
    loop = CustomLoop(tf.distribute.get_strategy(), model, global_batch=64, seed=0)
    loop.fit(images, labels.astype("int32"), epochs=1, callbacks=keras.callbacks.CallbackList())
    loss, accuracy = loop.evaluate(images, labels.astype("int32"), batch_size=64)
    targets = loss_targets(model, labels)
    expected_loss, expected_accuracy = model.evaluate(images, targets, batch_size=64, verbose=0)
    assert loss == pytest.approx(expected_loss, rel=1e-4)
    assert accuracy == pytest.approx(expected_accuracy)


def test_saliency_and_features_work_on_a_bfloat16_model():
    """The Verify page's saliency and the Explore page's map read bfloat16 models too."""
    from classifier.ml.features import feature_model, features
    from classifier.ml.inference import saliency

    model = build_model(preset_config("Small CNN", precision="bfloat16"), steps_per_epoch=2)
    images = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    heat = saliency(model, images[0])
    assert heat.shape == (28, 28) and heat.dtype == np.float32 and heat.max() == 1.0
    seen = features(feature_model(model), images)
    assert seen.shape == (3, 128) and seen.dtype == np.float32 and np.isfinite(seen).all()


def test_xla_only_where_it_was_measured_faster():
    # bench/bench_xla.py: the float32 dense network gains 1.16x; the bfloat16 CNNs lose.
    assert trains_with_xla(preset_config("Tutorial MLP"))
    assert not trains_with_xla(preset_config("Small CNN"))
    assert not trains_with_xla(preset_config("Best CNN"))
    assert not trains_with_xla(preset_config("Tutorial MLP", precision="bfloat16"))
    assert not trains_with_xla(preset_config("Tutorial MLP", strategy="mirrored", devices=2))
    assert not trains_with_xla(preset_config("Tutorial MLP", augment=True))  # Keras cannot


def test_a_trained_mlp_ran_with_xla_and_its_saved_model_predicts_without_it(trained_run):
    import json

    from classifier.store.runs import STATUS_FILE, RunStore

    store = RunStore(trained_run.root)
    status = json.loads((store.run_dir(trained_run.run_id) / STATUS_FILE).read_text())
    assert status["xla"] is True
    # The setting was the fit's: a page that loads the model predicts as it always did.
    assert store.load_model(trained_run.run_id).jit_compile is False


def test_the_best_cnn_is_twin_networks_that_average_what_they_say(tmp_path):
    """Two networks side by side decide together: each has its own output layer, and the
    model's "logits" average them. Explore's map reads both twins' last hidden layers,
    and a saved twin model loads in plain Keras and predicts the same."""
    import keras

    from classifier.ml.features import feature_model
    from classifier.ml.models import TWIN_LOGITS, feature_width

    config = preset_config("Best CNN")
    model = build_model(config, steps_per_epoch=2)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(convs) == 8  # two networks of two blocks of two convolutions
    single = build_model(dataclasses.replace(config, architecture="cnn-bn"), 2)
    assert model.count_params() == 2 * single.count_params()

    images = np.random.default_rng(0).random((3, 28, 28), dtype=np.float32)
    twins = [model.get_layer(f"{TWIN_LOGITS}{twin}") for twin in (1, 2)]
    each = keras.Model(model.inputs, [twin.output for twin in twins]).predict(images, verbose=0)
    logits = model.predict(images, verbose=0)
    np.testing.assert_allclose(logits, (each[0] + each[1]) / 2, rtol=1e-5, atol=1e-5)
    assert not np.allclose(each[0], each[1])  # two networks, not one twice

    width = feature_width(config.architecture, config.hidden_units)
    assert width == 2 * config.hidden_units
    assert feature_model(model).predict(images, verbose=0).shape == (3, width)
    assert feature_width("cnn-bn", 128) == feature_width("mlp", 128) == 128

    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), logits, rtol=1e-5, atol=1e-5)
