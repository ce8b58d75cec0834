"""Plain words on the Train page: no raw metric keys, Unix times or fractions; per-batch
curves that do not jump at epoch boundaries; a colour per run, never red."""

from __future__ import annotations

import pytest

from classifier.figures.style import RUN_COLORS, WRONG_COLOR
from classifier.figures.train import batch_curves_figure, compare_runs_figure
from classifier.views.train import batch_series, epoch_table, score_cards


def keras_running_means(per_batch: list[list[float]]) -> list[dict]:
    """Batch log rows as Keras writes them: a running mean that restarts every epoch."""
    rows = []
    for epoch, values in enumerate(per_batch, 1):
        for batch in range(1, len(values) + 1):
            mean = sum(values[:batch]) / batch
            rows.append({"epoch": epoch, "batch": batch, "steps": len(values), "accuracy": mean})
    return rows


def test_batch_values_come_back_from_running_means_and_do_not_jump_at_epoch_ends():
    # The model is at 60% all through epoch 1 and at 90% all through epoch 2. Keras' running
    # mean would show 60% ... 60% then 90% at once; a steady climb must not look like that.
    rows = keras_running_means([[0.6] * 10, [0.9] * 10])
    x, values = batch_series(rows, "accuracy", window=1)
    assert values == pytest.approx([0.6] * 10 + [0.9] * 10)
    assert x[0] == pytest.approx(0.1) and x[-1] == pytest.approx(2.0)
    climbing = keras_running_means(
        [[0.5 + 0.01 * b for b in range(10)], [0.6 + 0.01 * b for b in range(10)]]
    )
    _, smoothed = batch_series(climbing, "accuracy", window=3)
    steps = [b - a for a, b in zip(smoothed, smoothed[1:], strict=False)]
    assert max(steps) < 0.02  # no jump where the epoch ends


def test_the_epoch_table_speaks_plainly():
    rows = epoch_table(
        [
            {
                "epoch": 1,
                "accuracy": 0.8731,
                "loss": 0.35,
                "epoch_seconds": 219.0,
                "time": 1_764_463_000.0,
                "learning_rate": 0.001,
            }
        ]
    )
    row = rows[0]
    assert row["Training accuracy"] == "87.31%" and row["Time for the epoch"] == "3 min 39 s"
    assert ":" in row["Finished at"] and "1764" not in str(row)
    assert not {"epoch_seconds", "time", "val_accuracy"} & set(row)


def test_test_loss_is_explained():
    from types import SimpleNamespace

    info = SimpleNamespace(
        test_accuracy=0.9, test_loss=0.3, epochs_done=1, epochs_planned=1, duration_s=219.0
    )
    cards = {label: (value, hint) for label, value, hint in score_cards(info)}
    assert "lower is better" in cards["Test loss (lower is better)"][1]
    assert cards["Training time"][0] == "3 min 39 s"


def test_ten_minutes_or_more_are_whole_minutes_so_the_card_is_not_cut_off():
    """The Best CNN's "18 min 08 s" showed as "18 min 0..." on its score card at 1024x768:
    past ten minutes the seconds say nothing and do not fit."""
    from classifier.views.text import format_duration

    assert format_duration(1088) == "18 min"
    assert format_duration(629.6) == "10 min"
    assert format_duration(599) == "9 min 59 s"
    assert format_duration(42) == "42 s"


def test_charts_use_percent_and_people_words_and_each_run_keeps_its_colour():
    figure = batch_curves_figure(keras_running_means([[0.5] * 5]))
    assert figure.layout.yaxis2.tickformat == ".0%"
    curves = {
        "run-b": ("B", [{"epoch": 1, "val_accuracy": 0.8}]),
        "run-a": ("A", [{"epoch": 1, "val_accuracy": 0.7}]),
    }
    compare = compare_runs_figure(curves, "val_accuracy")
    assert (
        "val_accuracy" not in compare.layout.title.text
        and "Validation" in compare.layout.title.text
    )
    colors = {trace.name: trace.line.color for trace in compare.data}
    swapped = compare_runs_figure(dict(reversed(list(curves.items()))), "val_accuracy")
    assert colors == {trace.name: trace.line.color for trace in swapped.data}  # not by order
    assert WRONG_COLOR not in RUN_COLORS and len(set(colors.values())) == 2


def test_compared_runs_never_share_a_colour_and_epochs_are_whole():
    # Two CNN runs once shared a colour (a hash of their ids), and identical runs hid
    # each other; the epoch axis read 1.5 and 2.5.
    curves = {
        f"2026120{i}-0000-Small-CNN": (
            f"run {i}",
            [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.4}],
        )
        for i in range(9)
    }
    figure = compare_runs_figure(curves, "loss")
    styles = {(trace.line.color, trace.line.dash) for trace in figure.data}
    assert len({color for color, _ in styles}) == 9
    assert figure.layout.xaxis.dtick == 1 and figure.layout.xaxis.tickformat == "d"


def test_only_recorded_curves_are_offered_for_comparison():
    from classifier.views.train import compare_curves

    no_validation = [[{"epoch": 1, "loss": 0.5, "accuracy": 0.8, "val_accuracy": None}]]
    assert "val_accuracy" not in compare_curves(no_validation)
    assert compare_curves([[{"epoch": 1, "test_accuracy": 0.9}]]) == ["test_accuracy"]


def test_the_epoch_curves_show_the_test_pictures_and_the_note_explains_them():
    # The presets hold no validation pictures out: without the test curve, the chart would
    # show the training line alone and the note under it would speak of a missing line.
    from classifier.figures.train import epoch_curves_figure
    from classifier.views.train import OVERFITTING_NOTE

    metrics = [
        {"epoch": 1, "loss": 0.5, "accuracy": 0.82, "test_loss": 0.45, "test_accuracy": 0.84},
        {"epoch": 2, "loss": 0.3, "accuracy": 0.9, "test_loss": 0.4, "test_accuracy": 0.86},
    ]
    figure = epoch_curves_figure(metrics)
    curves = {(trace.name, trace.xaxis): list(trace.y) for trace in figure.data}
    assert curves[("test", "x2")] == [0.84, 0.86] and curves[("test", "x")] == [0.45, 0.4]
    assert ("validation", "x") not in curves  # no validation split, no validation line
    assert WRONG_COLOR not in {trace.line.color for trace in figure.data}
    assert "test accuracy" in OVERFITTING_NOTE and "never" in OVERFITTING_NOTE


def test_the_curves_note_says_why_training_loss_stays_above_test_loss():
    from classifier.views.train import OVERFITTING_NOTE, curves_note

    assert "label smoothing" in curves_note({"label_smoothing": 0.1})
    assert "10% doubt" in curves_note({"label_smoothing": 0.1})
    assert curves_note({"label_smoothing": 0.0}) == OVERFITTING_NOTE
    assert curves_note({"label_smoothing": "0.1"}) == OVERFITTING_NOTE  # odd config: plain


def test_a_run_without_a_finished_epoch_draws_nothing_and_accuracy_stays_within_0_and_1():
    curves = {
        "stopped-early": ("stopped early", []),
        "one-epoch": ("one epoch", [{"epoch": 1, "test_accuracy": 0.81}]),
    }
    figure = compare_runs_figure(curves, "test_accuracy")
    assert [trace.name for trace in figure.data] == ["one epoch"]
    low, high = figure.layout.yaxis.range
    assert 0.0 <= low < 0.81 < high <= 1.0
