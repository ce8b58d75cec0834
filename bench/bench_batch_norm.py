"""The Best CNN's batch normalisation: Keras' own layer against TensorFlow's fused kernel
(what the app trains bfloat16 models with: classifier/ml/batch_norm.py), side by side in
one run (issue 23; docs/benchmarks.md, "bench_batch_norm").

Keras' own layer casts the bfloat16 activations to float32 and runs about ten ops; the
fused kernel is one op. Three measurements:
- Speed, through the training job's own path (`classifier.ml.training.run_training`, in a
  fresh process each time, as a job runs): seconds per epoch as the run records them (with
  its test-set recording, about 1.3 s an epoch), training pictures a second from them, the
  first epoch, the whole run, the test accuracy after the same epochs, and the ratio fused
  / Keras' own. A third way passes the layers' input through untouched: what the rest of a
  step costs, the floor any batch normalisation adds to (its accuracy means nothing).
- Exactness in float32: the gradient of one float32 batch of 256 training pictures, each
  way, with TensorFlow's oneDNN rewrites on (as the app runs) and off (Eigen's kernels, the
  reference), from the same weights; the largest difference to the reference, relative to
  the largest gradient of each variable.
- Exactness in bfloat16, as the preset trains: one layer and its ReLU, forward and
  backward, against the exact values (float64) from the same bfloat16 input and element
  by element against Keras' own layer, with the layer's milliseconds.

    .venv/bin/python -m bench bench_batch_norm [--pictures 60000] [--epochs 2] [--rounds 3]
    .venv/bin/python -m bench bench_batch_norm --curves SEED

Each round trains once each way (the order alternates by round); figures are medians over
rounds. A plain `model.fit` in the benchmark's own process is not used: the job's path is
what a user waits for, and a plain fit's epochs swung further (docs/benchmarks.md,
bench_training).
bench_recipes trains 18-epoch recipes with the fused kernel ("fused_bn") for the accuracy.

`--curves SEED` trains the Best CNN's 18-epoch recipe both ways from the same weights (two
processes, one thread each) and prints each epoch's training loss, training accuracy and
test accuracy side by side: where the two runs part.

`--model-gradients EPOCHS` compares whole-model steps: the bfloat16 Best CNN's gradient
(dropout off) each way, against the float32 model's with the same weights, on 8 batches
of 128 training pictures, after EPOCHS epochs of Keras' own layer (0: fresh weights).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from classifier.ml.batch_norm import (
    biased_variance,
    fused_call,
    replace_training_call,
    update_moving_averages,
)

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PRESET = "Best CNN"
# One network of it, as every figure in docs/benchmarks.md was measured (the preset is two
# networks side by side since 2026-12-06; their layers are the same kind).
ONE_NETWORK = "cnn-bn"
WAYS = ("Keras' own", "fused", "none (floor)")
GRADIENT_PICTURES = 256
WEIGHTS_SEED = 5


def train_batch_norm_fused(model) -> None:
    """The fused kernel in every batch normalisation layer, float32 ones too (the app's
    classifier.ml.batch_norm uses it for bfloat16 layers only)."""
    replace_training_call(model, fused_call)


def train_batch_norm_keras(model) -> None:
    """Keras' own layer while training (build_model gives bfloat16 layers the fused kernel)."""
    replace_training_call(model, _keras_call)


def _keras_call(layer, inputs):
    return type(layer).call(layer, inputs, training=True)


def train_batch_norm_exact(model) -> None:
    """Keras' arithmetic in fewer ops: the moments of the float32 activations, one scale and
    shift, and the gradient written out (a custom gradient, no autodiff of the moments)."""
    replace_training_call(model, _exact_call)


def train_batch_norm_fused_forward(model) -> None:
    """The fused kernel's forward pass (its moments and output) with the written-out
    gradient of train_batch_norm_exact: which half of the kernel the gradient error is in."""
    replace_training_call(model, _fused_forward_call)


def _exact_call(layer, inputs):
    import tensorflow as tf

    mean, variance = tf.nn.moments(tf.cast(tf.stop_gradient(inputs), tf.float32), [0, 1, 2])
    return _normalised(layer, inputs, mean, variance, None)


def _fused_forward_call(layer, inputs):
    import tensorflow as tf

    outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
        tf.stop_gradient(inputs),
        tf.stop_gradient(tf.cast(layer.gamma, tf.float32)),
        tf.stop_gradient(tf.cast(layer.beta, tf.float32)),
        epsilon=layer.epsilon,
        is_training=True,
    )
    return _normalised(layer, inputs, mean, biased_variance(variance, inputs), outputs)


def _normalised(layer, inputs, mean, variance, outputs):
    """The normalised inputs (`outputs` if already computed) with the batch-norm gradient
    written out; the moving averages updated as Keras does."""
    import keras
    import tensorflow as tf

    inverse = tf.math.rsqrt(variance + layer.epsilon)

    @tf.custom_gradient
    def normalise(x, gamma, beta):
        scale = gamma * inverse
        if outputs is None:
            y = tf.cast(tf.cast(x, tf.float32) * scale + (beta - mean * scale), x.dtype)
        else:
            y = tf.identity(outputs)

        def gradient(dy):
            dy = tf.cast(dy, tf.float32)
            centred = (tf.cast(x, tf.float32) - mean) * inverse
            dbeta = tf.reduce_sum(dy, [0, 1, 2])
            dgamma = tf.reduce_sum(dy * centred, [0, 1, 2])
            count = tf.cast(tf.size(x) // tf.shape(x)[-1], tf.float32)
            dx = scale * (dy - (dbeta + centred * dgamma) / count)
            return tf.cast(dx, x.dtype), dgamma, dbeta

        return y, gradient

    result = normalise(inputs, tf.cast(layer.gamma, tf.float32), tf.cast(layer.beta, tf.float32))
    update_moving_averages(layer, mean, variance)
    return keras.ops.cast(result, layer.compute_dtype)


def no_batch_norm(model) -> None:
    """While training, the layers pass their input through (in their compute dtype)."""
    import warnings

    warnings.filterwarnings("ignore", message="Gradients do not exist")  # gamma, beta: unused
    replace_training_call(model, _identity)


def _identity(layer, inputs):
    import keras

    return keras.ops.cast(inputs, layer.compute_dtype)


APPLY = {"Keras' own": train_batch_norm_keras, "fused": train_batch_norm_fused,
         "none (floor)": no_batch_norm, "exact, fewer ops": train_batch_norm_exact,
         "fused forward, exact backward": train_batch_norm_fused_forward}  # fmt: skip
# Only in the gradient table: in a timing screen (a plain fit, 2026-12-06 00:10 UTC) the
# first took as many CPU seconds as Keras' own layer, the second about 0.7 times as many.
GRADIENT_WAYS = ("Keras' own", "fused", "exact, fewer ops", "fused forward, exact backward")


def job_once(way: str, pictures: int, epochs: int) -> dict:
    """In a fresh process: one training job of the preset on the first `pictures`, with
    `way`'s batch normalisation, in a scratch run store."""
    from classifier.ml import models, training
    from classifier.store.runs import RunStore

    def build_model(config, steps_per_epoch):
        model = models.build_model(config, steps_per_epoch)
        APPLY[way](model)
        return model

    training.build_model = build_model  # what the job calls
    config = models.preset_config(
        PRESET, architecture=ONE_NETWORK, epochs=epochs, train_limit=pictures
    )
    with tempfile.TemporaryDirectory(prefix="bench-batch-norm-") as folder:
        store = RunStore(folder)
        writer = store.create_run(config.to_dict(), "bench")
        started = time.perf_counter()
        training.run_training(writer)
        wall = time.perf_counter() - started
        metrics = store.read_metrics(writer.run_id)
    seconds = [row["epoch_seconds"] for row in metrics]
    steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
    return {
        "first": seconds[0],
        "steady": steady,
        "rate": pictures / steady,
        "accuracy": metrics[-1]["test_accuracy"],
        "wall": wall,
    }


def gradients_once(way: str) -> list:
    """In a fresh process: the float32 Best CNN's gradient on the first training pictures,
    from weights drawn with a fixed seed, with `way`'s batch normalisation."""
    import keras
    import tensorflow as tf

    from classifier.data import load_dataset, scale_images
    from classifier.ml.models import build_model, loss_targets, preset_config

    train = load_dataset().train
    images = scale_images(train.images[:GRADIENT_PICTURES])
    keras.utils.set_random_seed(WEIGHTS_SEED)
    # No dropout: its random masks would differ between the processes.
    model = build_model(
        preset_config(PRESET, architecture=ONE_NETWORK, precision="float32", dropout=0.0), 2
    )
    APPLY[way](model)
    targets = loss_targets(model, train.labels[:GRADIENT_PICTURES])
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=images, y=targets, y_pred=model(images, training=True))
    return [g.numpy() for g in tape.gradient(loss, model.trainable_variables)]


def fresh(function, *args, onednn: bool = True):
    """`function(*args)` in a new Python process (TensorFlow reads its oneDNN switch once,
    when it starts)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    before = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "1" if onednn else "0"
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return pool.submit(function, *args).result()
    finally:
        if before is None:
            os.environ.pop("TF_ENABLE_ONEDNN_OPTS", None)
        else:
            os.environ["TF_ENABLE_ONEDNN_OPTS"] = before


def gradient_table() -> None:
    import numpy as np

    reference = fresh(gradients_once, "Keras' own", onednn=False)
    print("\nGradient of one float32 batch, largest difference to Keras' own layer with Eigen's")
    print("kernels (oneDNN off), relative to the variable's largest gradient, over all variables")
    print("| batch normalisation | oneDNN on (as the app runs) | oneDNN off |")
    print("|---|---|---|")
    for way in GRADIENT_WAYS:
        cells = []
        for onednn in (True, False):
            grads = fresh(gradients_once, way, onednn=onednn)
            worst = max(
                float(np.abs(mine - theirs).max() / np.abs(theirs).max())
                for mine, theirs in zip(grads, reference, strict=True)
            )
            cells.append(f"{worst:.1e}")
        print(f"| {way} | {cells[0]} | {cells[1]} |", flush=True)


# The Best CNN's first block: a batch of 128 pictures, 28 x 28, 32 channels.
LAYER_SHAPE = (128, 28, 28, 32)


def bfloat16_layer_once(way: str) -> dict:
    """In a fresh process (the bfloat16 policy is global): one batch normalisation layer and
    its ReLU, as the preset trains them (bfloat16 activations), forward and backward on one
    batch of the first block's shape. Each result's largest difference to the exact value
    (float64, from the same bfloat16 input) relative to its largest value; the share of
    output and input-gradient elements that differ from Keras' own layer's; the layer's
    milliseconds (wall and CPU, median of 30)."""
    import keras
    import numpy as np
    import tensorflow as tf

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    rng = np.random.default_rng(WEIGHTS_SEED)
    inputs = tf.cast(rng.standard_normal(LAYER_SHAPE) * 0.7 + 0.3, tf.bfloat16)
    upstream = rng.standard_normal(LAYER_SHAPE).astype(np.float32)  # dLoss/dOutput
    step, epsilon = _layer_step(way, inputs, upstream)
    got = [tf.cast(value, tf.float32).numpy() for value in step()]
    keras_own, _ = _layer_step("Keras' own", inputs, upstream)
    theirs = [tf.cast(value, tf.float32).numpy() for value in keras_own()]

    x = tf.cast(inputs, tf.float32).numpy().astype(np.float64)
    count = x.size / x.shape[-1]
    mean, variance = x.mean((0, 1, 2)), x.var((0, 1, 2))
    inverse = 1.0 / np.sqrt(variance + epsilon)
    normalised = (x - mean) * inverse  # gamma starts at 1, beta at 0
    passed = upstream * (normalised > 0)  # through the ReLU
    dbeta, dgamma = passed.sum((0, 1, 2)), (passed * normalised).sum((0, 1, 2))
    exact = [
        np.maximum(normalised, 0),
        inverse * (passed - (dbeta + normalised * dgamma) / count),
        dgamma,
        dbeta,
    ]
    errors = [
        float(np.abs(mine - truth).max() / np.abs(truth).max())
        for mine, truth in zip(got, exact, strict=True)
    ]
    differ = [float(np.mean(got[i] != theirs[i])) for i in (0, 1)]
    walls, cpus = [], []
    for _ in range(30):
        wall, cpu = time.perf_counter(), time.process_time()
        step()[1].numpy()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {
        "errors": errors,
        "differ": differ,
        "wall": statistics.median(walls),
        "cpu": statistics.median(cpus),
    }


def _layer_step(way: str, inputs, upstream):
    """A traced training step of a new layer (and its ReLU) with `way`'s batch
    normalisation: it returns the output and the gradients of the input, gamma and beta."""
    import keras
    import tensorflow as tf

    layer_input = keras.Input(LAYER_SHAPE[1:])
    layer = keras.layers.BatchNormalization()
    model = keras.Model(layer_input, keras.layers.Activation("relu")(layer(layer_input)))
    APPLY[way](model)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            outputs = model(inputs, training=True)
            loss = tf.reduce_sum(tf.cast(outputs, tf.float32) * upstream)
        return (outputs, *tape.gradient(loss, [inputs, layer.gamma, layer.beta]))

    return step, layer.epsilon


def bfloat16_layer_table() -> None:
    print("\nOne layer and its ReLU as the preset trains them (bfloat16), batch of "
          f"{LAYER_SHAPE}: largest difference to the exact value, relative to the largest "
          "value; share of elements unlike Keras' own layer's; milliseconds forward and "
          "backward")  # fmt: skip
    print("| batch normalisation | output | input gradient | gamma gradient | beta gradient | "
          "outputs unlike Keras' | input gradients unlike Keras' | wall ms | CPU ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for way in GRADIENT_WAYS:
        result = fresh(bfloat16_layer_once, way)
        errors = " | ".join(f"{error:.2e}" for error in result["errors"])
        differ = " | ".join(f"{share:.2%}" for share in result["differ"])
        print(f"| {way} | {errors} | {differ} | {result['wall'] * 1e3:.1f} | "
              f"{result['cpu'] * 1e3:.1f} |", flush=True)  # fmt: skip


# The Best CNN's 18-epoch recipe with each batch normalisation (bench/bench_recipes.py).
CURVE_RECIPES = {"Keras' own": "bf16-18-smooth", "fused": "fused-18-smooth"}


def curves_once(way: str, seed: int) -> list[dict]:
    """In a fresh process on one thread: `way`'s recipe from the seed's weights, each
    epoch's training loss and accuracy and test accuracy (bench_recipes' own run)."""
    import tensorflow as tf

    from bench.bench_recipes import recipe, run

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    name = CURVE_RECIPES[way]
    return run(name, recipe(name), seed)["epochs"]


def curves_table(seed: int) -> None:
    """Keras' own layer and the fused kernel side by side (two processes at once, one
    thread each), epoch by epoch: where their runs part."""
    from concurrent.futures import ThreadPoolExecutor

    ways = tuple(CURVE_RECIPES)
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(lambda way: fresh(curves_once, way, seed), ways))
    print(f"\nThe recipe with each batch normalisation, seed {seed}: training loss, training "
          "accuracy (dropout on), test accuracy")  # fmt: skip
    print("| epoch | " + " | ".join(f"{way}: {what}" for way in ways
                                    for what in ("loss", "training", "test")) + " |")  # fmt: skip
    print("|---|" + "---|" * 6)
    for epoch, rows in enumerate(zip(*runs, strict=True), start=1):
        cells = " | ".join(
            f"{row['train_loss']:.4f} | {row['train_accuracy']:.2%} | {row['accuracy']:.2%}"
            for row in rows
        )
        print(f"| {epoch} | {cells} |", flush=True)


def model_gradient_table(epochs: int, batches: int = 8, size: int = 128) -> None:
    """Per variable: each bfloat16 way's gradient against the float32 model's (relative L2
    difference, mean over the batches), and how far the two ways' gradients point apart."""
    import keras
    import numpy as np
    import tensorflow as tf

    from classifier.data import load_dataset, scale_images
    from classifier.ml.models import build_model, loss_targets, preset_config

    train = load_dataset().train

    def model(precision: str):
        keras.utils.set_random_seed(WEIGHTS_SEED)
        steps_per_epoch = -(-len(train.images) // size)  # sets the schedule's length
        return build_model(
            preset_config(PRESET, architecture=ONE_NETWORK, precision=precision, dropout=0.0),
            steps_per_epoch,
        )

    def gradient(network, images, labels) -> list:
        with tf.GradientTape() as tape:
            predicted = network(images, training=True)
            loss = network.compute_loss(y=loss_targets(network, labels), y_pred=predicted)
        grads = tape.gradient(loss, network.trainable_variables)
        return [tf.cast(g, tf.float64).numpy() for g in grads]

    exact, own, fused = model("float32"), model("bfloat16"), model("bfloat16")
    train_batch_norm_keras(own)
    train_batch_norm_fused(fused)
    if epochs:
        own.fit(scale_images(train.images), loss_targets(own, train.labels), batch_size=size,
                epochs=epochs, verbose=0)  # fmt: skip
    for network in (exact, fused):
        network.set_weights(own.get_weights())
    rows = {variable.path: [] for variable in exact.trainable_variables}
    for batch in range(batches):
        picked = slice(batch * size, (batch + 1) * size)
        images, labels = scale_images(train.images[picked]), train.labels[picked]
        reference = gradient(exact, images, labels)
        ways = gradient(own, images, labels), gradient(fused, images, labels)
        for path, ref, mine, theirs in zip(rows, reference, *ways, strict=True):
            off = lambda g: np.linalg.norm(g - ref) / np.linalg.norm(ref)  # noqa: B023, E731
            cosine = (mine * theirs).sum() / np.linalg.norm(mine) / np.linalg.norm(theirs)
            rows[path].append((off(mine), off(theirs), cosine))
    print(f"\nbfloat16 gradient of the whole model (dropout off) after {epochs} epochs, against "
          f"float32 with the same weights; means over {batches} batches of {size}")  # fmt: skip
    print("| variable | Keras' own: off float32 | fused: off float32 | cosine, own to fused |")
    print("|---|---|---|---|")
    for path, values in rows.items():
        own_off, fused_off, cosine = np.mean(values, axis=0)
        print(f"| {path} | {own_off:.1%} | {fused_off:.1%} | {cosine:.5f} |")


def main(argv: list[str] | None = None) -> int:
    from bench._arithmetic import matmul_peak_gflops, preset_training_flop

    parser = argparse.ArgumentParser()
    parser.add_argument("--pictures", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--curves", type=int, metavar="SEED",
                        help="only the recipe's epoch-by-epoch curves with this seed")  # fmt: skip
    parser.add_argument("--model-gradients", type=int, metavar="EPOCHS",
                        help="only the whole model's gradients after this many epochs")  # fmt: skip
    args = parser.parse_args(argv)
    if args.curves is not None:
        curves_table(args.curves)
        return 0
    if args.model_gradients is not None:
        model_gradient_table(args.model_gradients)
        return 0

    print(f"load average at the start: {os.getloadavg()}", flush=True)
    gradient_table()
    bfloat16_layer_table()
    # The preset trains in bfloat16: its peak is bfloat16's (AMX), not float32's.
    peak = matmul_peak_gflops(dtype="bfloat16")
    print(f"\nbfloat16 matrix product (TensorFlow, 2048 x 2048): {peak:.0f} GFLOP/s", flush=True)
    results: dict[str, list[dict]] = {way: [] for way in WAYS}
    for round_number in range(args.rounds):
        for way in WAYS if round_number % 2 == 0 else reversed(WAYS):
            result = fresh(job_once, way, args.pictures, args.epochs)
            results[way].append(result)
            print(
                f"round {round_number + 1} {way:<12} first epoch {result['first']:5.1f} s, "
                f"steady {result['steady']:5.1f} s ({result['rate']:4.0f} pictures/s), "
                f"run {result['wall']:5.1f} s, test accuracy {result['accuracy']:.4f}",
                flush=True,
            )
    medians = {
        way: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for way, runs in results.items()
    }
    print(f"\n{PRESET} as a training job, {args.pictures:,} pictures, {args.epochs} epochs, "
          f"{args.rounds} rounds; medians")  # fmt: skip
    print("| batch normalisation | pictures/s | steady epoch | first epoch | whole run | "
          "test accuracy | share of the bfloat16 peak |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    flop = preset_training_flop(PRESET, architecture=ONE_NETWORK)
    for way, figures in medians.items():
        reached = figures["rate"] * flop / 1e9
        print(
            f"| {way} | {figures['rate']:.0f} | {figures['steady']:.1f} s | "
            f"{figures['first']:.1f} s | {figures['wall']:.1f} s | {figures['accuracy']:.4f} | "
            f"{reached / peak:.0%} |"
        )
    own, fused = medians["Keras' own"], medians["fused"]
    print(f"fused / Keras' own, pictures a second: {fused['rate'] / own['rate']:.2f}x")
    print(f"load average at the end: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
