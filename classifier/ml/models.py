"""Model presets and the training configuration.

Keras is imported inside `build_model` only, so pages that merely show the settings
(and the run list) stay fast and free of TensorFlow.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, fields, replace

from classifier.ml.batch_norm import train_batch_norm_fused

# What build_model builds: the tutorial's dense network, two plain convolution blocks, two
# blocks of two convolutions with batch normalisation, or two such networks side by side
# ("twins") whose outputs are averaged.
ARCHITECTURES = ("mlp", "cnn", "cnn-bn", "cnn-bn-twin")
TWINS = 2  # the networks side by side in "cnn-bn-twin"
TWIN_LOGITS = "twin_logits_"  # each twin's output layer: twin_logits_1, twin_logits_2
OPTIMIZERS = ("adam", "adamw", "rmsprop", "sgd")
SCHEDULES = ("constant", "cosine")
STRATEGIES = ("default", "mirrored", "multi-worker")
# "bfloat16": Keras' mixed_bfloat16 policy (float32 weights, bfloat16 arithmetic, float32
# logits); on a CPU with AVX-512 BF16 the CNNs train about 1.25 times faster, as accurately
# (README, "Models").
PRECISIONS = ("float32", "bfloat16")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; stored as the run's config.json."""

    preset: str = "Tutorial MLP"
    architecture: str = "mlp"  # one of ARCHITECTURES; set by the preset
    epochs: int = 10
    # Per device; with several devices the global batch is this times the device count,
    # as TensorFlow's distribution guide does.
    batch_size: int = 32
    learning_rate: float = 0.001
    optimizer: str = "adam"
    schedule: str = "constant"  # "cosine" decays the rate to zero over all epochs
    hidden_units: int = 128
    dropout: float = 0.0
    validation_split: float = 0.0
    augment: bool = False  # random horizontal flips and 1-2 pixel shifts
    seed: int = 42
    # Train on the first N training images only (0 = all 60,000): quick demos and tests.
    train_limit: int = 0
    strategy: str = "default"
    devices: int = 1  # logical devices for the "mirrored" strategy on a CPU-only machine
    # The run this one continues (its saved model and optimizer state), or "" for a new model.
    parent: str = ""
    precision: str = "float32"  # one of PRECISIONS
    # Train towards 1 - s for the right class and s / 10 spread over all classes instead
    # of 100% (Szegedy et al., 2016): a model less sure of itself generalises better.
    label_smoothing: float = 0.0

    def validate(self) -> TrainConfig:
        """Raise ValueError with a message a user can act on; return self when fine."""
        if not isinstance(self.preset, str) or self.preset not in PRESETS:
            raise ValueError(f"Unknown preset {self.preset!r}; choose one of {list(PRESETS)}.")
        try:
            checks = self._checks()
        except TypeError as error:  # a stored config with text where a number belongs
            raise ValueError("Some settings have values of the wrong kind.") from error
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        return self

    def _checks(self) -> list[tuple[bool, str]]:
        return [
            (self.architecture in ARCHITECTURES, f"The model must be one of {ARCHITECTURES}."),
            (1 <= self.epochs <= 200, "Epochs must be between 1 and 200."),
            (1 <= self.batch_size <= 4096, "Batch size must be between 1 and 4096."),
            (0 < self.learning_rate <= 1, "The learning rate must be above 0 and at most 1."),
            (self.optimizer in OPTIMIZERS, f"The optimizer must be one of {OPTIMIZERS}."),
            (self.schedule in SCHEDULES, f"The schedule must be one of {SCHEDULES}."),
            (1 <= self.hidden_units <= 4096, "Hidden units must be between 1 and 4096."),
            (0 <= self.dropout < 1, "Dropout must be at least 0 and below 1."),
            (0 <= self.validation_split < 0.5, "The validation split must be 0 to 0.5."),
            (0 <= self.train_limit <= 60_000, "The training limit must be 0 to 60,000."),
            (self.strategy in STRATEGIES, f"The strategy must be one of {STRATEGIES}."),
            (1 <= self.devices <= 64, "Devices must be between 1 and 64."),
            (isinstance(self.parent, str) and len(self.parent) <= 64, "Not a run to continue."),
            (self.precision in PRECISIONS, f"The arithmetic must be one of {PRECISIONS}."),
            (0 <= self.label_smoothing < 0.5, "Label smoothing must be at least 0 and below 0.5."),
        ]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build from a stored or typed dict, ignoring keys this version does not know.

        Runs saved before `architecture` existed get the architecture their preset had then.
        """
        known = {f.name for f in fields(cls)}
        given = {key: value for key, value in values.items() if key in known}
        preset = given.get("preset")
        old = isinstance(preset, str) and preset in ARCHITECTURE_BEFORE_THE_FIELD
        if "architecture" not in given and old:
            given["architecture"] = ARCHITECTURE_BEFORE_THE_FIELD[preset]
        return cls(**given)


# Each preset's architecture when configs did not store it (the Best CNN became twins later).
ARCHITECTURE_BEFORE_THE_FIELD = {"Tutorial MLP": "mlp", "Small CNN": "cnn", "Best CNN": "cnn-bn"}


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str  # one line for people who do not program
    defaults: TrainConfig


# The Small CNN's recipe (README, "Models"): two conv blocks, Adam with a cosine decay,
# label smoothing, bfloat16; the presets hold no validation pictures out, since the
# recorder tests every epoch on the test set.
SMALL_CNN = TrainConfig(
    preset="Small CNN",
    architecture="cnn",
    epochs=14,
    batch_size=128,
    learning_rate=0.002,
    schedule="cosine",
    dropout=0.3,
    validation_split=0.0,
    precision="bfloat16",
    label_smoothing=0.1,
)

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in [
        Preset(
            "Tutorial MLP",
            "Exactly the TensorFlow tutorial: flatten the picture, one layer of 128 neurons, "
            "ten outputs. About 88% right after 10 epochs, in well under a minute.",
            TrainConfig(preset="Tutorial MLP", architecture="mlp"),
        ),
        Preset(
            "Small CNN",
            "A small convolutional network that looks at pixel neighbourhoods: "
            "about 93% right in about 1.5 minutes on two CPU cores.",
            SMALL_CNN,
        ),
        Preset(
            "Best CNN",
            "The most accurate model here: two convolutional networks side by side that "
            "decide together, with batch normalisation, a decaying learning rate and "
            "label smoothing. About 94% right in 10 to 20 minutes on two CPU cores.",
            # The same recipe, with batch normalisation after every convolution, in twins,
            # longer (README, "Models").
            replace(SMALL_CNN, preset="Best CNN", architecture="cnn-bn-twin", epochs=18),
        ),
    ]
}


def preset_config(name: str, **overrides) -> TrainConfig:
    """The preset's settings with some of them changed; validated."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; choose one of {list(PRESETS)}.")
    return replace(PRESETS[name].defaults, **overrides).validate()


def trains_with_xla(config: TrainConfig) -> bool:
    """Whether the training job compiles its steps with XLA (Keras' `jit_compile`): where
    bench/bench_xla.py measured it at least 1.15x faster, the float32 dense network (1.16x
    in a steady epoch, median of 5 rounds, the same test accuracy). The bfloat16 CNNs ran
    11 and 2.6 times slower with it; the distribution strategies were not measured; Keras
    cannot compile the random flips and shifts of `augment` with it."""
    return (
        config.architecture == "mlp"
        and config.precision == "float32"
        and config.strategy == "default"
        and not config.augment
    )


def build_model(config: TrainConfig, steps_per_epoch: int):
    """A compiled Keras model that outputs 10 logits (float32), as the tutorial's does."""
    with _dtype_policy("mixed_bfloat16" if config.precision == "bfloat16" else "float32"):
        model = _build_model(config, steps_per_epoch)
    train_batch_norm_fused(model)  # bfloat16 batch normalisation: 2.3x faster (its module)
    return model


@contextlib.contextmanager
def _dtype_policy(name: str):
    """Keras' global dtype policy set while layers are built (each layer keeps its own),
    then put back: nothing else in the process changes."""
    import keras

    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def _build_model(config: TrainConfig, steps_per_epoch: int):
    import keras
    from keras import layers

    inputs = keras.Input(shape=(28, 28), name="image")
    x = inputs
    if config.augment:
        x = layers.Reshape((28, 28, 1))(x)
        x = layers.RandomFlip("horizontal")(x)
        x = layers.RandomTranslation(0.07, 0.07, fill_mode="constant")(x)
    if config.architecture == "mlp":
        x = layers.Flatten()(x)
        x = layers.Dense(config.hidden_units, activation="relu")(x)
        if config.dropout:
            x = layers.Dropout(config.dropout)(x)
        outputs = _logits(x)
    elif config.architecture == "cnn-bn-twin":
        # Each twin has its own output layer and "logits" averages what they say: they
        # learn together to be right on average (README, "Models").
        x = layers.Reshape((28, 28, 1))(x)
        twins = [
            _logits(_conv_network(x, config), name=f"{TWIN_LOGITS}{twin}")
            for twin in range(1, TWINS + 1)
        ]
        outputs = layers.Average(name="logits", dtype="float32")(twins)
    else:
        x = layers.Reshape((28, 28, 1))(x)
        outputs = _logits(_conv_network(x, config))
    model = keras.Model(inputs, outputs, name=config.preset.lower().replace(" ", "_"))
    model.compile(
        optimizer=_optimizer(config, steps_per_epoch),
        loss=_loss(config),
        metrics=["accuracy"],
    )
    return model


def _loss(config: TrainConfig):
    import keras

    if config.label_smoothing:  # Keras' sparse loss has no smoothing: see loss_targets
        return keras.losses.CategoricalCrossentropy(
            from_logits=True, label_smoothing=config.label_smoothing
        )
    return keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def loss_targets(model, labels):
    """The labels as the model's compiled loss takes them: class numbers, or one-hot rows
    for a loss with label smoothing. Read from the model, so a loaded run continues with
    the targets it was trained on."""
    import keras
    import numpy as np

    labels = np.asarray(labels)
    if isinstance(model.loss, keras.losses.CategoricalCrossentropy):
        return np.eye(10, dtype=np.float32)[labels]
    return labels


def _logits(x, name: str = "logits"):
    """The output layer: 10 logits, in float32 even in a bfloat16 model."""
    from keras import layers

    return layers.Dense(10, name=name, dtype="float32")(x)


def _conv_network(x, config: TrainConfig):
    """Pictures (N, 28, 28, 1) to the last hidden layer of a convolutional network."""
    from keras import layers

    x = _conv_blocks(x, batch_norm=config.architecture.startswith("cnn-bn"))
    x = layers.Flatten()(x)
    x = layers.Dropout(config.dropout)(x)
    x = layers.Dense(config.hidden_units, activation="relu")(x)
    return layers.Dropout(config.dropout)(x)


def feature_width(architecture: object, hidden_units: int) -> int:
    """The width of a model's features (classifier.ml.features): its last hidden layer, or
    the twins' last hidden layers side by side."""
    return hidden_units * (TWINS if architecture == "cnn-bn-twin" else 1)


def _conv_blocks(x, batch_norm: bool):
    from keras import layers

    if not batch_norm:  # "cnn": two plain conv blocks
        for filters in (32, 64):
            x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            x = layers.MaxPooling2D()(x)
        return x
    # "cnn-bn": two blocks of two Conv-BN-ReLU pairs, then pooling (about 0.47 M
    # parameters). Wider blocks (64, 128) or a third block were too slow for 10 minutes,
    # and one conv per block no better than the Small CNN (README, "Models").
    for filters in (32, 64):
        for _ in range(2):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
    return x


# A continued run restarts a cosine schedule at this share of the configured rate (a "warm
# restart" with a lower peak, as SGDR does), decaying to zero over its own epochs.
RESTART_SHARE = 0.5


def continue_model(model, config: TrainConfig, steps_per_epoch: int):
    """A parent run's loaded model, with its weights and optimizer state (moments, step
    count), set up to train `config.epochs` more epochs (README, "Continue training").

    A constant rate stays as configured. A cosine schedule starts again: from
    RESTART_SHARE x the configured rate down to zero over the new epochs. The optimizer's
    step count goes on from the parent's (Adam's bias correction depends on it), so the
    new cosine is Keras' CosineDecay with a linear warm-up over the steps already taken
    (which never runs) followed by the decay.
    """
    import keras

    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or not hasattr(optimizer, "iterations"):
        raise ValueError(
            "This run's model was saved without its optimizer (its training state), so it "
            "cannot be continued. Train a new run instead."
        )
    taken = int(optimizer.iterations.numpy())
    if config.schedule == "cosine":
        optimizer.learning_rate = keras.optimizers.schedules.CosineDecay(
            0.0,
            decay_steps=max(1, config.epochs * steps_per_epoch),
            warmup_target=config.learning_rate * RESTART_SHARE,
            warmup_steps=max(1, taken),
        )
    elif isinstance(optimizer._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        optimizer.learning_rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=1, alpha=1.0
        )  # constant: a schedule cannot be replaced by a number
    else:
        optimizer.learning_rate = config.learning_rate
    train_batch_norm_fused(model)  # as build_model: a loaded model has Keras' own call
    return model


def _optimizer(config: TrainConfig, steps_per_epoch: int):
    import keras

    rate = config.learning_rate
    if config.schedule == "cosine":
        rate = keras.optimizers.schedules.CosineDecay(
            config.learning_rate, decay_steps=max(1, config.epochs * steps_per_epoch)
        )
    factories = {
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "rmsprop": keras.optimizers.RMSprop,
        "sgd": lambda learning_rate: keras.optimizers.SGD(learning_rate, momentum=0.9),
    }
    return factories[config.optimizer](learning_rate=rate)
