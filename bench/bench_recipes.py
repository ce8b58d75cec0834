"""The recipe search behind the "Best CNN" and "Small CNN" presets (on demand: each recipe
is a full training): train named recipes on all 60,000 training pictures and report each
one's test accuracy, time and size.

    .venv/bin/python -m bench bench_recipes --list      # the recipes and their knobs
    .venv/bin/python -m bench bench_recipes RECIPE [RECIPE ...] [--seeds 1 2] [--epochs N]

Not in the regular `python -m bench` set: it measures candidates, not the app. Each recipe is
a named set of knobs (RECIPES below): the rows of the frontier table in docs/benchmarks.md,
so each can be measured again. The model is built here, from Keras' own layers, so that
recipes that did not win need no place in classifier/ml/models.py; the chosen ones are the
presets there. Each run prints one JSON line: test accuracy per epoch, with and without
averaging the picture and its mirror (test-time augmentation), seconds per epoch,
parameters. Wall times are only comparable within one run of this script on a quiet
machine: its speed jumps between two levels.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

BASE = {
    "filters": (32, 64),  # channels of each block; a block is `convs` Conv-BN-ReLU + pool
    "convs": 2,  # or one count per block
    "head": "dense",  # "dense": flatten, dense 128; "gap": global average pooling
    "dropout": 0.3,
    "pool_dropout": 0.0,  # dropout after each block's pooling but the last (conv-level)
    "dense": 128,  # units of the dense head
    "dense_dropout": None,  # dropout after the dense layer (None: "dropout")
    "batch": 128,
    "lr": 0.002,
    "epochs": 15,
    "optimizer": "adam",
    "warmup": 0.0,  # share of the steps with a linear warm-up before the cosine decay
    "smoothing": 0.0,  # label smoothing
    "flip": False,  # random horizontal flips while training
    "shift": 0.0,  # random shifts while training, as a share of the side (0.07 = 2 px)
    "ema": False,  # evaluate an exponential moving average of the weights
    "bf16": False,  # mixed_bfloat16 compute
    "fused_bn": False,  # batch normalisation through TensorFlow's fused kernel (bench_batch_norm)
    "keras_bn_first": 0,  # with fused_bn: the first N epochs with Keras' own layer
    "keras_bn_last": 0,  # with fused_bn: the last N epochs with Keras' own layer again
    "fused_block": None,  # with fused_bn: only this block's layers (0 or 1) fused
    "validation": 0.1,  # share of the training pictures held out (the presets' old 0.1)
    "limit": 0,  # first N training pictures (0 = all)
    "towers": 1,  # copies of the network side by side on the same picture, logits averaged
    "tower_losses": False,  # with towers: each tower trains on its own loss (an ensemble)
    "mirror": False,  # one network on the picture and on its mirror, logits averaged
    # With towers: "average" their logits, or "concat" their last hidden layers into one
    # output layer (the same functions, trained differently: 16 epochs of it were no better
    # than one network; the app's Best CNN averages).
    "join": "average",
}

# The Best CNN's recipe: bfloat16, all pictures, 18 epochs, label smoothing 0.1.
SMOOTH_18 = {"validation": 0.0, "bf16": True, "epochs": 18, "smoothing": 0.1}

RECIPES: dict[str, dict] = {
    "best-cnn-old": {},  # the Best CNN preset before this search
    "all-data": {"validation": 0.0},
    "bf16": {"validation": 0.0, "bf16": True},
    "wide": {"validation": 0.0, "filters": (64, 128)},
    "wide-bf16": {"validation": 0.0, "filters": (64, 128), "bf16": True},
    "three-blocks": {"validation": 0.0, "filters": (32, 64, 128), "head": "gap"},
    "flip-shift": {"validation": 0.0, "flip": True, "shift": 0.07},
    # The 10-minute candidates: bf16 buys about 18 epochs of the old architecture.
    "bf16-18": {"validation": 0.0, "bf16": True, "epochs": 18},
    "bf16-18-smooth-flip": {**SMOOTH_18, "flip": True},
    "bf16-18-smooth-flip-shift": {**SMOOTH_18, "flip": True, "shift": 0.07},
    "bf16-18-smooth": SMOOTH_18,
    "bf16-18-smooth02": {**SMOOTH_18, "smoothing": 0.2},
    "bf16-18-smooth-adamw": {**SMOOTH_18, "optimizer": "adamw"},
    "bf16-20-smooth": {**SMOOTH_18, "epochs": 20},
    "bf16-18-ema": {"validation": 0.0, "bf16": True, "epochs": 18, "ema": True},
    # Around the Best CNN's recipe (bf16-18-smooth), one knob at a time, several seeds.
    "bf16-18-smooth-drop02": {**SMOOTH_18, "dropout": 0.2},
    "bf16-18-smooth-lr3e3": {**SMOOTH_18, "lr": 0.003},
    "bf16-18-smooth-lr1e3": {**SMOOTH_18, "lr": 0.001},
    "bf16-18-smooth-nesterov": {**SMOOTH_18, "optimizer": "nesterov", "lr": 0.05},
    "bf16-18-smooth-shift1": {**SMOOTH_18, "shift": 0.036},
    # A deeper, narrower-at-the-top network at about the same cost: one conv at 28x28 (the
    # costliest resolution), then two at 14x14 and two at 7x7.
    "bf16-smooth-1-2-2": {**SMOOTH_18, "filters": (32, 64, 128), "convs": (1, 2, 2)},
    # With TensorFlow's fused batch normalisation (what the app trains bfloat16 models with):
    # the same recipe, then what the time it frees would buy: wider blocks, more epochs.
    "fused-18-smooth": {**SMOOTH_18, "fused_bn": True},
    "fused-wide48-18": {**SMOOTH_18, "fused_bn": True, "filters": (48, 96)},
    "fused-wide48-16": {**SMOOTH_18, "fused_bn": True, "filters": (48, 96), "epochs": 16},
    "fused-wide64-13": {**SMOOTH_18, "fused_bn": True, "filters": (64, 128), "epochs": 13},
    # Where the fused kernel loses its accuracy: Keras' own layer for the last 4 epochs,
    # where the rate is small, or for the first 2, where the weights move most.
    "fused14-keras4": {**SMOOTH_18, "fused_bn": True, "keras_bn_last": 4},
    "keras2-fused16": {**SMOOTH_18, "fused_bn": True, "keras_bn_first": 2},
    # The fused kernel fitted the training pictures closer than Keras' own layer (a lower
    # training loss from the fourth epoch on): more dropout to make up for it. (Its loss
    # later proved a comparison across dates: docs/benchmarks.md, "bench_recipes".)
    "fused-18-drop04": {**SMOOTH_18, "fused_bn": True, "dropout": 0.4},
    # Which layers carry the loss: the fused kernel in the second block only.
    "fused-block2-18": {**SMOOTH_18, "fused_bn": True, "fused_block": 1},
    # More regularisation at about the same cost (the fused kernel's loss then seemed to be
    # in generalisation): dropout between the blocks; a wider dense head with more dropout.
    "bf16-18-smooth-pooldrop": {**SMOOTH_18, "pool_dropout": 0.2},
    "bf16-18-smooth-head512": {**SMOOTH_18, "dense": 512, "dense_dropout": 0.5},
    # Smaller batches: noisier steps (and batch statistics), twice the steps per epoch.
    "bf16-18-smooth-batch64": {**SMOOTH_18, "batch": 64},
    # The time the fused kernel frees spent on two networks in one model, their logits
    # averaged: trained together on the average (one standard Keras model), or each on
    # its own loss (an ensemble of two, scored on the average). The first is the app's Best
    # CNN (architecture "cnn-bn-twin").
    "fused-twin-18": {**SMOOTH_18, "fused_bn": True, "towers": 2},
    "fused-ensemble2-18": {**SMOOTH_18, "fused_bn": True, "towers": 2, "tower_losses": True},
    # One network that sees the picture and its mirror and averages what it says: blind to
    # left and right by construction (test-time augmentation built into the model).
    "fused-mirror-18": {**SMOOTH_18, "fused_bn": True, "mirror": True},
    # The twins in less time (1.5-2 times an epoch of one network): 16 epochs, one
    # output layer over both networks' hidden layers.
    "fused-twin-16": {**SMOOTH_18, "fused_bn": True, "towers": 2, "join": "concat", "epochs": 16},
}


def recipe(name: str, **overrides) -> dict:
    if name not in RECIPES:
        raise SystemExit(f"unknown recipe {name!r}; --list shows them")
    return {**BASE, **RECIPES[name], **{k: v for k, v in overrides.items() if v is not None}}


def build(knobs: dict, steps_per_epoch: int):
    import keras
    from keras import layers

    inputs = keras.Input(shape=(28, 28))
    x = layers.Reshape((28, 28, 1))(inputs)
    if knobs["flip"]:
        x = layers.RandomFlip("horizontal")(x)
    if knobs["shift"]:
        x = layers.RandomTranslation(knobs["shift"], knobs["shift"], fill_mode="constant")(x)
    if knobs["mirror"]:
        picture = keras.Input(shape=(28, 28, 1))
        network = keras.Model(picture, _tower(knobs, picture))
        outputs = layers.Average(dtype="float32")([network(x), network(_mirrored(x))])
        return _compiled(keras.Model(inputs, outputs), knobs, steps_per_epoch)
    if knobs["join"] == "concat":
        towers = [_tower(knobs, x, hidden=True) for _ in range(knobs["towers"])]
        hidden = layers.Concatenate()(towers)
        outputs = layers.Dense(10, dtype="float32")(hidden)
        return _compiled(keras.Model(inputs, outputs), knobs, steps_per_epoch)
    towers = [_tower(knobs, x) for _ in range(knobs["towers"])]
    if knobs["towers"] == 1:
        outputs = towers[0]
    elif knobs["tower_losses"]:
        outputs = towers  # Score averages them
    else:
        outputs = layers.Average(dtype="float32")(towers)
    return _compiled(keras.Model(inputs, outputs), knobs, steps_per_epoch)


def _mirrored(x):
    """The pictures (N, 28, 28, 1) left to right, with Keras' standard layers: a fixed
    matrix that reverses the columns."""
    import numpy as np
    from keras import layers

    flip = layers.Dense(28, use_bias=False, trainable=False, dtype="float32")
    rows = layers.Reshape((28, 28))(x)
    flip.build((None, 28, 28))
    flip.set_weights([np.eye(28, dtype="float32")[::-1]])
    return layers.Reshape((28, 28, 1))(flip(rows))


def _compiled(model, knobs: dict, steps_per_epoch: int):
    import keras

    outputs = model.outputs
    total = knobs["epochs"] * steps_per_epoch
    warmup = int(knobs["warmup"] * total)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else knobs["lr"],
        decay_steps=max(1, total - warmup),
        warmup_target=knobs["lr"] if warmup else None,
        warmup_steps=warmup,
    )
    optimizers = {
        "adam": keras.optimizers.Adam,
        "adamw": keras.optimizers.AdamW,
        "nesterov": lambda **kw: keras.optimizers.SGD(momentum=0.9, nesterov=True, **kw),
    }
    optimizer = optimizers[knobs["optimizer"]](learning_rate=schedule, use_ema=knobs["ema"])
    loss = keras.losses.CategoricalCrossentropy(
        from_logits=True, label_smoothing=knobs["smoothing"]
    )
    ensemble = len(outputs) > 1
    model.compile(
        optimizer=optimizer,
        loss=[loss] * len(outputs) if ensemble else loss,
        metrics=None if ensemble else ["accuracy"],
    )
    return model


def _tower(knobs: dict, x, hidden: bool = False):
    """The network from the picture to its 10 logits (or to its last hidden layer)."""
    from keras import layers

    convs = knobs["convs"]
    for block, filters in enumerate(knobs["filters"]):
        for _ in range(convs[block] if isinstance(convs, list | tuple) else convs):
            x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
            x = layers.BatchNormalization()(x)
            x = layers.Activation("relu")(x)
        x = layers.MaxPooling2D()(x)
        if knobs["pool_dropout"] and block < len(knobs["filters"]) - 1:
            x = layers.Dropout(knobs["pool_dropout"])(x)
    if knobs["head"] == "gap":
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dropout(knobs["dropout"])(x)
    else:
        x = layers.Flatten()(x)
        x = layers.Dropout(knobs["dropout"])(x)
        x = layers.Dense(knobs["dense"], activation="relu")(x)
        dense_dropout = knobs["dense_dropout"]
        x = layers.Dropout(knobs["dropout"] if dense_dropout is None else dense_dropout)(x)
    return x if hidden else layers.Dense(10, dtype="float32")(x)


def run(name: str, knobs: dict, seed: int) -> dict:
    import keras
    import numpy as np

    from classifier.data import load_dataset, scale_images

    started = time.perf_counter()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if knobs["bf16"] else "float32")
    dataset = load_dataset(allow_download=False)
    limit = knobs["limit"] or len(dataset.train)
    x = scale_images(dataset.train.images[:limit])
    y = keras.utils.to_categorical(dataset.train.labels[:limit], 10)
    x_test = scale_images(dataset.test.images)
    y_test = dataset.test.labels
    keep = int(len(x) * (1 - knobs["validation"]))
    x, y = x[:keep], y[:keep]
    steps = -(-len(x) // knobs["batch"])
    keras.utils.set_random_seed(seed)
    model = build(knobs, steps)
    mirrored = x_test[:, :, ::-1]
    rows = []

    class Score(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            fit_seconds = time.perf_counter() - self.start
            if knobs["ema"]:  # score the averaged weights, then train on with the live ones
                live = [v.numpy() for v in self.model.trainable_variables]
                self.model.optimizer.finalize_variable_values(self.model.trainable_variables)
            plain = _logits(self.model.predict(x_test, batch_size=1000, verbose=0))
            flipped = _logits(self.model.predict(mirrored, batch_size=1000, verbose=0))
            if knobs["ema"]:
                for variable, value in zip(self.model.trainable_variables, live, strict=True):
                    variable.assign(value)
            rows.append(
                {
                    "epoch": epoch + 1,
                    "seconds": round(fit_seconds, 2),
                    "accuracy": float(np.mean(plain.argmax(1) == y_test)),
                    "tta": float(np.mean((plain + flipped).argmax(1) == y_test)),
                    # As Keras reports them while training (dropout on).
                    "train_loss": round(logs["loss"], 5),
                    "train_accuracy": round(logs.get("accuracy", float("nan")), 5),
                }
            )
            print(json.dumps({"recipe": name, "seed": seed, **rows[-1]}), flush=True)

    fused_now = False  # build() makes Keras' own layers
    for fused, end in _batch_norm_phases(knobs):
        if fused != fused_now:
            from bench.bench_batch_norm import train_batch_norm_fused, train_batch_norm_keras

            (train_batch_norm_fused if fused else train_batch_norm_keras)(_switched(model, knobs))
            model.train_function = None  # traced with the other layers: trace again
            fused_now = fused
        targets = [y] * knobs["towers"] if knobs["tower_losses"] else y
        model.fit(x, targets, batch_size=knobs["batch"], epochs=end, initial_epoch=len(rows),
                  verbose=0, callbacks=[Score()])  # fmt: skip
    return {
        "recipe": name,
        "seed": seed,
        "knobs": {k: v for k, v in knobs.items()},
        "parameters": int(model.count_params()),
        "epoch_seconds": sorted(r["seconds"] for r in rows)[len(rows) // 2],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "accuracy": rows[-1]["accuracy"],
        "tta": rows[-1]["tta"],
        "epochs": rows,
    }


def _logits(predicted):
    """One array of logits: an ensemble's outputs averaged."""
    import numpy as np

    return np.mean(predicted, axis=0) if isinstance(predicted, list) else predicted


def _switched(model, knobs: dict):
    """A stand-in holding the model's batch normalisation layers, nested ones too, or with
    "fused_block" only that block's (what bench_batch_norm's switches read)."""
    import types

    import keras

    norms = [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    if knobs["fused_block"] is not None:
        per_block = len(norms) // len(knobs["filters"])
        start = knobs["fused_block"] * per_block
        norms = norms[start : start + per_block]
    return types.SimpleNamespace(layers=norms)


def _batch_norm_phases(knobs: dict) -> list[tuple[bool, int]]:
    """(with the fused kernel, up to which epoch) for each part of the training."""
    epochs = knobs["epochs"]
    if not knobs["fused_bn"]:
        return [(False, epochs)]
    first, last = knobs["keras_bn_first"], epochs - knobs["keras_bn_last"]
    phases = [(False, first), (True, last), (False, epochs)]
    ends = [0] + [end for _, end in phases]
    return [phase for phase, start in zip(phases, ends, strict=False) if phase[1] > start]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipes", nargs="*")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--threads", type=int, help="TensorFlow threads (0 = all cores)")
    parser.add_argument("--json", help="append each result as a JSON line to this file")
    args = parser.parse_args()
    if args.list or not args.recipes:
        for name in RECIPES:
            print(name, json.dumps(recipe(name)))
        return
    if args.threads:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    for name in args.recipes:
        for seed in args.seeds:
            result = run(name, recipe(name, epochs=args.epochs, limit=args.limit), seed)
            line = json.dumps({k: v for k, v in result.items() if k != "epochs"})
            print(line, flush=True)
            if args.json:
                with open(args.json, "a") as out:
                    out.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
