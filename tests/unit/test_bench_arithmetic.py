"""The benchmarks count the arithmetic of the models the app trains (bench/_arithmetic.py),
which bench_floor turns into the least time a preset can train in (issue 23)."""

from bench._arithmetic import epoch_flop, training_flop
from classifier.ml.models import build_model, preset_config

# One network of the Best CNN, forward, for one picture: four 3x3 convolutions (1->32 and
# 32->32 at 28x28, 32->64 and 64->64 at 14x14), Dense 3136->128 and Dense 128->10.
CONVOLUTIONS = 2 * 9 * (28 * 28 * 32 * (1 + 32) + 14 * 14 * 64 * (32 + 64))
DENSE = 2 * (7 * 7 * 64 * 128 + 128 * 10)
FIRST = 2 * 9 * 28 * 28 * 32  # the convolution that reads the picture


def test_the_floor_counts_one_network_and_the_twins_layer_by_layer():
    one = build_model(preset_config("Best CNN", architecture="cnn-bn"), 1)
    twins = build_model(preset_config("Best CNN"), 1)

    forward = CONVOLUTIONS + DENSE
    assert training_flop(one) == 3 * forward - FIRST  # 111.7 MFLOP, "about 112"
    # Each twin reads the picture: neither needs the gradient of its input.
    assert training_flop(twins) == 2 * (3 * forward - FIRST)
    assert epoch_flop(one, pictures=100) == 100 * (3 * forward - FIRST) + 10_000 * forward


def test_the_tutorials_dense_network_reads_the_picture_through_flatten():
    mlp = build_model(preset_config("Tutorial MLP"), 1)
    assert training_flop(mlp) == 2 * 2 * 784 * 128 + 3 * 2 * 128 * 10
