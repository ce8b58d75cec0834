"""The Explore page's logic: the map, the nearest training pictures, suspicious labels and one
model against another. Unit tests of classifier/ml/features.py, label_ranking.py and
compare.py on hand-made and real data, and the command line. (The page in AppTest:
tests/app/test_explore.py; in Chromium: tests/browser/test_explore.py.)"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from classifier.data import CLASS_NAMES, scale_images
from classifier.jobs import label_check
from classifier.jobs.process import JobBusyError
from classifier.ml import compare as model_compare
from classifier.ml import features
from classifier.ml import label_ranking as suspects
from classifier.ml.models import PRESETS, preset_config
from classifier.store import reviews as label_reviews

SHIRT, TSHIRT, COAT = (CLASS_NAMES.index(name) for name in ("Shirt", "T-shirt/top", "Coat"))


# The ranking itself (cleanlab): tests/unit/test_label_issues.py.


# --- Cross-validation ------------------------------------------------------------------------


def test_folds_cover_every_picture_once():
    ids = label_check.fold_ids(1001, 3, seed=5)
    held_out = [label_check.fold_split(ids, fold)[1] for fold in range(3)]
    assert sorted(np.concatenate(held_out).tolist()) == list(range(1001))
    assert {len(part) for part in held_out} <= {333, 334}
    for fold in range(3):
        training, held = label_check.fold_split(ids, fold)
        assert not set(training) & set(held)
        assert len(training) + len(held) == 1001


def test_cross_validation_never_scores_a_picture_with_a_model_that_saw_it(monkeypatch):
    """Each picture carries its number in its first pixel; a fake model records what it
    was trained on and what it was asked about."""
    import classifier.ml.models

    seen = []

    class Recorder:
        loss = None  # trains on class numbers (models.loss_targets)

        def fit(self, x, y, **options):
            self.trained = set(np.rint(x[:, 0, 0]).astype(int).tolist())

        def predict(self, x, **options):
            asked = set(np.rint(x[:, 0, 0]).astype(int).tolist())
            seen.append((self.trained, asked))
            return np.zeros((len(x), 10), dtype=np.float32)

    monkeypatch.setattr(classifier.ml.models, "build_model", lambda config, steps: Recorder())
    images = np.zeros((300, 28, 28), dtype=np.float32)
    images[:, 0, 0] = np.arange(300)
    labels = np.arange(300) % 10
    config = preset_config("Tutorial MLP", epochs=1)
    result = label_check.cross_validate(images, labels, config, folds=3, seed=1)
    assert result.shape == (300, 10)
    assert len(seen) == 3
    scored = set()
    for trained, asked in seen:
        assert not trained & asked  # never a picture it trained on
        assert trained | asked == set(range(300))
        scored |= asked
    assert scored == set(range(300))


@pytest.mark.slow
def test_flipped_labels_are_found_among_the_top_suspects(dataset):
    """Flip 50 of 2,000 training labels; two models of the Tutorial MLP (2 epochs, each on
    the other half) find most of them among their 50 most suspicious pictures."""
    count, flips = 2000, 50
    rng = np.random.default_rng(7)
    labels = dataset.train.labels[:count].astype(np.int64).copy()
    flipped = rng.choice(count, flips, replace=False)
    labels[flipped] = (labels[flipped] + rng.integers(1, 10, flips)) % 10
    config = preset_config("Tutorial MLP", epochs=2)
    images = scale_images(dataset.train.images[:count])
    probs = label_check.cross_validate(images, labels, config, folds=2, seed=0)
    ranking = suspects.rank_suspects(probs, labels)
    top = set(ranking.indices[:flips].tolist())
    found = len(top & set(flipped.tolist()))
    # Most of them (28 here), though each model saw only 1,000 pictures twice; by chance 1.
    assert found > flips / 2, f"only {found} of {flips} flipped labels in the top {flips}"
    # The suggestion of a found flip is mostly its original label.
    original = dataset.train.labels[:count]
    hits = [i for i in ranking.indices[:flips] if i in set(flipped.tolist())]
    suggested = dict(zip(ranking.indices.tolist(), ranking.suggested.tolist(), strict=True))
    assert np.mean([suggested[i] == original[i] for i in hits]) >= 0.7


# --- One model against another ---------------------------------------------------------------


def one_hot(classes, count=10):
    return np.eye(count)[np.asarray(classes)]


def test_the_two_by_two_table_adds_up_to_the_test_set():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 10_000)
    pred_a = np.where(rng.random(10_000) < 0.8, labels, (labels + 1) % 10)
    pred_b = np.where(rng.random(10_000) < 0.85, labels, (labels + 2) % 10)
    comparison = model_compare.Comparison.of(one_hot(pred_a), one_hot(pred_b), labels)
    table = comparison.table()
    assert sum(table.values()) == 10_000
    assert table["both_right"] + table["only_a"] == int((pred_a == labels).sum())
    assert table["both_right"] + table["only_b"] == int((pred_b == labels).sum())
    only_b = comparison.indices("only_b")
    assert (pred_b[only_b] == labels[only_b]).all() and (pred_a[only_b] != labels[only_b]).all()
    all_cells = np.concatenate([comparison.indices(cell) for cell in model_compare.CELLS])
    assert sorted(all_cells.tolist()) == list(range(10_000))


def test_mcnemar_on_known_counts():
    # 10 to 0: twice (1/2)^10.
    assert model_compare.mcnemar(10, 0).p_value == pytest.approx(2 / 1024)
    # 7 to 2: 2 * (C(9,0) + C(9,1) + C(9,2)) / 2^9 = 92 / 512.
    assert model_compare.mcnemar(7, 2).p_value == pytest.approx(92 / 512)
    assert model_compare.mcnemar(5, 5).p_value == 1.0
    assert model_compare.mcnemar(0, 0).p_value == 1.0
    # Large counts: 600 against 500 (normal approximation with continuity correction: 0.0029).
    assert model_compare.mcnemar(500, 600).p_value == pytest.approx(0.0028, abs=0.0003)
    result = model_compare.mcnemar(120, 80, 10_000)
    assert result.sentence.startswith("A is better than B on these 10,000 pictures")
    assert "unlikely to be luck" in result.sentence
    close = model_compare.mcnemar(52, 48, 10_000)
    assert "B" in close.sentence and "could well be luck" in close.sentence
    assert close.sentence.startswith("A is better than B")


def test_per_class_words():
    assert model_compare.better_words(0.80, 0.821) == "B, by 2.1 points"
    assert model_compare.better_words(0.9, 0.9) == "the same"


# --- Features, maps and nearest pictures -----------------------------------------------------


@pytest.fixture(scope="module")
def model(trained_run):
    from classifier.store.runs import RunStore

    return RunStore(trained_run.root).load_model(trained_run.run_id)


def test_nearest_neighbours_of_a_training_picture_start_with_itself(model, dataset):
    extractor = features.feature_model(model)
    values = features.features(extractor, scale_images(dataset.train.images[:3000]))
    assert values.shape == (3000, 128)
    index = features.NeighbourIndex(values)
    for picture in (0, 17, 2999):
        nearest, distances = index.search(values[picture], k=8)
        assert nearest[0] == picture and distances[0] == pytest.approx(0, abs=1e-2)
        assert len(nearest) == 8 and (np.diff(distances) >= 0).all()
        others, _ = index.search(values[picture], k=8, exclude=picture)
        assert picture not in others and others[0] == nearest[1]


def test_pca_map_is_deterministic_and_spreads_the_classes(model, dataset):
    extractor = features.feature_model(model)
    values = features.features(extractor, scale_images(dataset.test.images[:2000]))
    points = features.principal_components(values)
    assert points.shape == (2000, 2)
    np.testing.assert_array_equal(points, features.principal_components(values))
    # Trousers and bags sit apart: their centres are further apart than the spread of one.
    labels = dataset.test.labels[:2000]
    trousers, bags = points[labels == 1], points[labels == 8]
    gap = np.linalg.norm(trousers.mean(axis=0) - bags.mean(axis=0))
    assert gap > np.linalg.norm(trousers.std(axis=0))


# --- Reviews ---------------------------------------------------------------------------------


def test_reviews_are_saved_atomically_and_exported(tmp_path):
    label_reviews.save_review(tmp_path, "test", 42, SHIRT, "wrong", TSHIRT)
    label_reviews.save_review(tmp_path, "train", 7, COAT, "right")
    label_reviews.save_review(tmp_path, "test", 42, SHIRT, "right")  # changed one's mind
    reviews = label_reviews.read_reviews(tmp_path)
    assert reviews["test:42"]["decision"] == "right" and reviews["test:42"]["label"] == SHIRT
    assert reviews["train:7"]["label"] == COAT
    stored = json.loads((tmp_path / ".explore" / "label-reviews.json").read_text())
    assert set(stored) == {"test:42", "train:7"}
    assert not list((tmp_path / ".explore").glob("*.tmp"))
    lines = label_reviews.reviews_csv(reviews).splitlines()
    assert lines[0] == "split,picture,given_label,decision,right_label,reviewed_at"
    assert lines[1].startswith("test,42,Shirt,right,Shirt,")
    assert lines[2].startswith("train,7,Coat,right,Coat,")
    with pytest.raises(ValueError):
        label_reviews.save_review(tmp_path, "test", 1, SHIRT, "wrong")  # wrong, but as what?


def test_a_damaged_reviews_file_reads_as_none(tmp_path):
    folder = tmp_path / ".explore"
    folder.mkdir()
    (folder / "label-reviews.json").write_text('{"test:1": {"decision": "maybe", "label": 3}')
    assert label_reviews.read_reviews(tmp_path) == {}
    (folder / "label-reviews.json").write_text('{"test:1": {"decision": "wrong", "label": 99}}')
    assert label_reviews.read_reviews(tmp_path) == {}


def test_job_keys_name_what_they_compute():
    job = label_check.CrossValidation("Tutorial MLP", folds=3, epochs=2, limit=2000)
    assert job.key == "cv-Tutorial-MLP-k3-e2-n2000-s0"
    # The default check: the epochs it trains on all 60,000 pictures (check_epochs).
    epochs = label_check.check_epochs(PRESETS["Small CNN"].defaults.epochs, 45_000)
    assert (
        label_check.CrossValidation().key
        == f"cv-Small-CNN-k4-e{epochs}-nall-s0"
        == ("cv-Small-CNN-k4-e3-nall-s0")
    )
    with pytest.raises(ValueError):
        label_check.CrossValidation(folds=1).validate()


def test_the_runs_list_ignores_the_explore_folder(tmp_path):
    from classifier.store.runs import RunStore

    label_reviews.save_review(tmp_path, "test", 1, SHIRT, "right")
    assert RunStore(tmp_path).list_runs() == []
    shutil.rmtree(tmp_path / ".explore")


# --- The command line ------------------------------------------------------------------------


def test_cli_prints_the_test_suspects_as_json(two_runs, capsys):
    from classifier.__main__ import main

    root, _, better = two_runs
    argv = ["--runs-dir", str(root), "suspects", "--split", "test", "--run", better]
    assert main([*argv, "--top", "5", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 5
    assert [row["rank"] for row in rows] == [1, 2, 3, 4, 5]
    assert all({"index", "label", "suggested", "score"} <= set(row) for row in rows)
    assert all(row["label"] != row["suggested"] for row in rows)
    assert [row["score"] for row in rows] == sorted(row["score"] for row in rows)
    assert main([*argv, "--top", "3", "--limit", "200"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("cleanlab estimates that about ")
    assert "of the 200 test labels may be wrong (model accuracy " in lines[0]
    assert lines[1] == "The first 3 (--top):"
    assert lines[2].split() == ["RANK", "PICTURE", "LABEL", "SUGGESTED", "SCORE"]
    assert len(lines) == 6 and all(int(line.split()[1]) < 200 for line in lines[3:])
    # Without --top: the whole flagged set, not more (cleanlab's estimate, as the text says).
    assert main([*argv, "--json"]) == 0
    everything = json.loads(capsys.readouterr().out)
    assert everything[:5] == rows
    assert main(argv) == 0
    text = capsys.readouterr().out.splitlines()
    assert f"about {len(everything):,} of the 10,000 test labels" in text[0]
    assert len(text) == 2 + len(everything)


def test_cli_usage_errors(capsys):
    from classifier.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["suspects", "--top", "3"])  # no --split
    assert exit_info.value.code == 2
    assert main(["suspects", "--split", "test", "--top", "0"]) == 1
    assert "--top at least 1" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_cross_validates_the_training_pictures_once(tmp_path, capsys):
    from classifier.__main__ import main

    argv = ["--runs-dir", str(tmp_path), "suspects", "--split", "train", "--folds", "2"]
    argv += ["--epochs", "1", "--limit", "400", "--top", "4", "--json"]
    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(first) == 4 and all(0 <= row["index"] < 400 for row in first)
    job = label_check.CrossValidation(folds=2, epochs=1, limit=400)
    result = tmp_path / ".explore" / job.key / "probabilities.npy"
    stamp = result.stat().st_mtime_ns
    assert label_check.job_state(tmp_path, job).status == "completed"
    assert main(argv) == 0  # read from the store, not trained again
    assert json.loads(capsys.readouterr().out) == first
    assert result.stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_the_background_job_runs_in_a_worker_and_can_be_stopped(tmp_path):
    from tests.support import wait_until

    job = label_check.CrossValidation(folds=2, epochs=1, limit=400)
    label_check.start_job(tmp_path, job)
    with pytest.raises(JobBusyError):
        label_check.start_job(tmp_path, job)  # one at a time
    wait_until(lambda: label_check.read_result(tmp_path, job) is not None, 120, "the job")
    state = label_check.job_state(tmp_path, job)
    assert state.status == "completed" and state.text.startswith("Done")
    # A longer one, stopped: it says so, and keeps what it finished.
    longer = label_check.CrossValidation(folds=2, epochs=30, limit=2000)
    label_check.start_job(tmp_path, longer)
    wait_until(lambda: label_check.job_state(tmp_path, longer).fraction > 0, 120, "progress")
    assert label_check.job_state(tmp_path, longer).status == "running"
    label_check.request_stop(tmp_path, longer)
    stopped = wait_until(
        lambda: label_check.job_state(tmp_path, longer).status == "stopped", 60, "the stop"
    )
    assert stopped and label_check.read_result(tmp_path, longer) is None
