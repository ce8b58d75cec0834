"""What the benchmarks measure speed against: the CPU (its name and bfloat16 units), its
peak as TensorFlow reaches it, and the arithmetic of a model's training, counted from its
layers (bench_floor, bench_xla, bench_batch_norm).

A convolution or dense layer does 2 x (its outputs) x (the inputs each output reads)
operations forward, as many again for the gradient of its weights, and as many again for
the gradient of its input (not for a layer that reads the picture itself). Every epoch
of the training job trains on the training pictures and then scores the 10,000 test
pictures (forward only).
"""

from __future__ import annotations

import time
from pathlib import Path

TEST_PICTURES = 10_000
TRAINING_PICTURES = 60_000


def matmul_peak_gflops(size: int = 2048, repeats: int = 5, dtype: str = "float32") -> float:
    """The machine's peak as TensorFlow reaches it: a square matrix product, in float32 or
    in bfloat16 (about 2 times faster on AVX-512 BF16, 4.2 times on AMX units)."""
    import tensorflow as tf

    a = tf.cast(tf.random.normal((size, size)), dtype)
    b = tf.cast(tf.random.normal((size, size)), dtype)
    tf.linalg.matmul(a, b).numpy()  # warm up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def cpu_description() -> str:
    """The CPU's model name and its bfloat16 units, from /proc/cpuinfo."""
    name, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                name = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    units = [unit for unit in ("amx_bf16", "avx512_bf16") if unit in flags]
    return f"{name} ({', '.join(units) or 'no bfloat16 units'})"


def forward_flop(model) -> list[tuple[float, bool]]:
    """Each convolution's and dense layer's forward arithmetic for one picture, and whether
    it reads the picture itself (no gradient of its input is needed then)."""
    import keras

    counts = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width, filters = layer.output.shape[1:]
            kernel_height, kernel_width, inputs_per_output, _ = layer.kernel.shape
            reads = kernel_height * kernel_width * inputs_per_output
            counts.append((2.0 * height * width * filters * reads, _reads_the_picture(layer)))
        elif isinstance(layer, keras.layers.Dense):
            flop = 2.0 * layer.kernel.shape[0] * layer.kernel.shape[1]
            counts.append((flop, _reads_the_picture(layer)))
    return counts


def _reads_the_picture(layer) -> bool:
    """Whether only layers without weights (reshapes) lie between the model's input and
    this layer."""
    import keras

    tensor = layer.input
    while not isinstance(tensor, list):  # a join of several tensors comes after weights
        before = tensor._keras_history.operation  # the layer that made it (Keras' record)
        if isinstance(before, keras.layers.InputLayer):
            return True
        if before.weights:
            return False
        tensor = before.input
    return False


def training_flop(model) -> float:
    """One picture's training step: forward, the weights' gradient, and the input's
    gradient for every layer that does not read the picture itself."""
    return sum(flop * (2 if first else 3) for flop, first in forward_flop(model))


def epoch_flop(model, pictures: int = TRAINING_PICTURES) -> float:
    """An epoch as the training job runs it: train on `pictures`, score the test set."""
    forward = sum(flop for flop, _ in forward_flop(model))
    return pictures * training_flop(model) + TEST_PICTURES * forward


def preset_training_flop(preset: str, **overrides) -> float:
    """One picture's training work in `preset`'s model (with some settings changed)."""
    from classifier.ml.models import build_model, preset_config

    return training_flop(build_model(preset_config(preset, **overrides), 1))
