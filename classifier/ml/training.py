"""Train one run: prepare the data, build the model under a distribution strategy, fit with
live recording into the run store, evaluate on the test set, save.

This runs in a training process (the command line, or a worker the job manager starts),
never in Streamlit's script thread (README, "Training never runs in the page script").
"""

from __future__ import annotations

import json
import math
import os
import re
import time

from classifier.data import load_dataset, scale_images
from classifier.ml.inference import accuracy, cross_entropy, softmax
from classifier.ml.models import (
    TrainConfig,
    build_model,
    continue_model,
    loss_targets,
    trains_with_xla,
)
from classifier.store.files import append_json_line, save_model_atomically
from classifier.store.history import (
    HISTORY_FILE,
    LIVE_FILE,
    LIVE_SECONDS,
    append_epoch,
    live_indices,
    read_history,
    write_live,
)
from classifier.store.runs import (
    BATCHES_FILE,
    COMPLETED,
    METRICS_FILE,
    MODEL_FILE,
    SAVING,
    STOPPED,
    TESTING,
    RunStore,
    RunWriter,
)

# Batch lines are flushed at most this often: the page polls about once a second.
BATCH_FLUSH_SECONDS = 0.2
# A TensorFlow error from a distributed step is cut to this many characters of message.
TF_ERROR_CHARS = 300


def configure_devices(config: TrainConfig) -> None:
    """Split the CPU into logical devices for a "mirrored" run; must precede any TF op."""
    if config.strategy != "mirrored" or config.devices <= 1:
        return
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return  # real accelerators: MirroredStrategy uses them as they are
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * config.devices
    )


def make_strategy(config: TrainConfig):
    """The tf.distribute strategy named by the config (TF_CONFIG drives "multi-worker")."""
    import tensorflow as tf

    if config.strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [
            d.name for d in tf.config.list_logical_devices("CPU")[: config.devices]
        ]
        return tf.distribute.MirroredStrategy(devices=devices)
    if config.strategy == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


class TestSet:
    """The test pictures, and how to ask the model in training about them."""

    def __init__(self, images, labels, predict, predict_few, live: list[int]):
        import numpy as np

        self.images, self.labels = images, np.asarray(labels)
        self.predict = predict  # images -> logits, with the weights of this moment
        # The same for a few pictures: a direct forward pass. model.predict costs 30-130 ms
        # a call in set-up (bench/bench_training.py), too much every 2 s.
        self.predict_few = predict_few
        self.live = live  # the live sample: test picture numbers
        self.live_images = images[live]

    def score(self, probabilities) -> tuple[float, float]:
        """Loss (cross-entropy) and accuracy of float32 probabilities of every picture."""
        return cross_entropy(probabilities, self.labels), accuracy(probabilities, self.labels)


def make_recorder(writer: RunWriter, config: TrainConfig, steps_per_epoch: int, test: TestSet):
    """A Keras callback that logs every batch and epoch to the run and obeys Stop.

    It also records what the model predicts as it learns (history.py): every epoch the
    whole test set, every few seconds the live sample."""
    import keras

    class LiveRecorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.stopped_early = False
            self.epoch = 0
            self.epoch_started = time.time()
            self.last_batch = 0
            self.last_flush = 0.0
            self.last_live = 0.0
            self.saved_digest = None  # sha256 of the checkpoint of the current weights, if any
            self.last_test = None  # (loss, accuracy) of the last full epoch on the test set
            self.batches = writer.open_log(BATCHES_FILE)
            self.metrics = writer.open_log(METRICS_FILE)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch + 1
            self.epoch_started = time.time()
            self.last_batch = 0

        def on_train_batch_end(self, batch, logs=None):
            now = time.time()
            self.last_batch = batch + 1
            self.saved_digest = None  # the weights moved on since the last checkpoint
            record = {"epoch": self.epoch, "batch": batch + 1, "steps": steps_per_epoch}
            record.update(_floats(logs))
            # Buffered write; flushed a few times a second so the page sees it quickly.
            self.batches.write(json.dumps(record) + "\n")
            if now - self.last_flush > BATCH_FLUSH_SECONDS:
                self.batches.flush()
                self.last_flush = now
            if now - self.last_live >= LIVE_SECONDS:
                probabilities = softmax(test.predict_few(test.live_images))
                write_live(writer.path / LIVE_FILE, self.epoch, batch + 1, test.live, probabilities)
                self.last_live = now
            if writer.stop_requested:
                self.stopped_early = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            self.batches.flush()
            # A custom loop may stop on another worker's request: it says so here.
            self.stopped_early = self.stopped_early or bool(self.model.stop_training)
            if self.stopped_early and self.last_batch < steps_per_epoch:
                return  # Keras ends a stopped epoch early; half an epoch is not logged
            record = {"epoch": epoch + 1, **_floats(logs)}
            last = epoch + 1 == config.epochs
            if last:
                writer.write_status(phase=TESTING)
            probabilities = softmax(test.predict(test.images))
            append_epoch(writer.path / HISTORY_FILE, probabilities)
            self.last_test = test.score(probabilities)
            record["test_loss"], record["test_accuracy"] = self.last_test
            record["epoch_seconds"] = time.time() - self.epoch_started  # recording included
            record["time"] = time.time()
            record["learning_rate"] = _current_rate(self.model)
            append_json_line(self.metrics, record)
            if last:
                writer.write_status(phase=SAVING)
            self.saved_digest = save_model_atomically(self.model, writer.path / MODEL_FILE)
            writer.write_status(epochs_done=epoch + 1, model_sha256=self.saved_digest)

        def close(self):
            self.batches.close()
            self.metrics.close()

    return LiveRecorder()


class CustomLoop:
    """Training and evaluation written out with `strategy.run`, for "multi-worker" runs.

    Keras 3's `model.fit` and `model.evaluate` do not support MultiWorkerMirroredStrategy:
    every worker fails at the first batch with "Attempt to convert a value (PerReplica...)
    to a Tensor" (open upstream as keras-team/keras#20585 and tensorflow/tensorflow#72388).
    So this loop does what `fit` does for our models, with the same callbacks (the
    LiveRecorder records exactly as under `fit`): the model and optimizer come from
    `strategy.scope()`, each step runs on a batch of `experimental_distribute_dataset`, the
    loss is averaged over the global batch (the optimizer sums the replicas' gradients), and
    the metrics are sums all-reduced across workers, so every worker logs the same numbers.

    Stop: a worker that wants to stop (its callbacks set `model.stop_training`, as the
    LiveRecorder does when the run's stop file appears) says so in its next step; that flag
    is summed across workers with the metrics, so all of them end after that same step and
    no worker waits forever in a collective the others left. The chief alone sees the
    shared run's stop file; the other workers learn of it from the sum.
    """

    def __init__(self, strategy, model, global_batch: int, seed: int):
        import keras
        import tensorflow as tf

        self.strategy = strategy
        self.model = model
        self.global_batch = global_batch
        self.seed = seed
        with strategy.scope():
            model.optimizer.build(model.trainable_variables)  # not inside the first step
        # The compiled loss, unreduced: one value per example, averaged below. A loss with
        # label smoothing takes one-hot rows (models.loss_targets).
        one_hot = isinstance(model.loss, keras.losses.CategoricalCrossentropy)

        def per_example_loss(y, logits):
            return model.loss.call(tf.one_hot(y, 10) if one_hot else y, logits)

        variables = model.trainable_variables

        def sums(y, logits, per_example):
            """Loss sum, right answers and examples of one replica's batch."""
            hits = tf.equal(tf.argmax(logits, axis=-1, output_type=y.dtype), y)
            right = tf.reduce_sum(tf.cast(hits, tf.float32))
            return tf.stack([tf.reduce_sum(per_example), right, tf.cast(tf.size(y), tf.float32)])

        # A short last batch can leave a replica without examples (one image over two
        # workers), and convolutions fail on an empty batch: such a replica skips the model
        # and contributes zero gradients, but still joins every collective.
        def train_replica(x, y, examples, stop):
            def learn():
                with tf.GradientTape() as tape:
                    logits = model(x, training=True)
                    per_example = per_example_loss(y, logits)
                    # Averaged over the whole global batch (this step's examples on all
                    # replicas): the sum of the replicas' gradients is the mean gradient.
                    loss = tf.nn.compute_average_loss(per_example, global_batch_size=examples)
                    if model.losses:
                        loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
                return tape.gradient(loss, variables), sums(y, logits, per_example)

            def skip():
                return [tf.zeros_like(v) for v in variables], tf.zeros(3)

            gradients, result = tf.cond(tf.size(y) > 0, learn, skip)
            model.optimizer.apply_gradients(zip(gradients, variables, strict=True))
            return tf.concat([result, [stop]], axis=0)

        def test_replica(x, y):
            def measure():
                logits = model(x, training=False)
                return sums(y, logits, per_example_loss(y, logits))

            return tf.cond(tf.size(y) > 0, measure, lambda: tf.zeros(3))

        def all_workers(per_replica):
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        @tf.function
        def train_step(iterator, examples, stop):
            x, y = next(iterator)
            return all_workers(strategy.run(train_replica, args=(x, y, examples, stop)))

        @tf.function
        def test_step(iterator):
            x, y = next(iterator)
            return all_workers(strategy.run(test_replica, args=(x, y)))

        # Outside strategy.run: this worker's own copy of the model, nothing shared.
        @tf.function(reduce_retracing=True)
        def local_predict(x):
            return model(x, training=False)

        self._train_step = train_step
        self._test_step = test_step
        self._local_predict = local_predict

    def fit(self, x, y, epochs: int, callbacks, validation=None) -> None:
        """Train for `epochs` over (x, y), calling the Keras callbacks as `fit` does."""
        import numpy as np
        import tensorflow as tf

        model, count, batch = self.model, len(x), self.global_batch
        steps = math.ceil(count / batch)
        # Examples in each global batch of an epoch (the last one may be short).
        examples = [
            tf.constant(min(batch, count - step * batch), tf.int64) for step in range(steps)
        ]
        iterator = iter(self._distribute(x, y, batch, shuffle_epochs=epochs))
        no, yes = tf.constant(0.0), tf.constant(1.0)
        model.stop_training = False
        stopped = False
        callbacks.on_train_begin()
        for epoch in range(epochs):
            callbacks.on_epoch_begin(epoch)
            totals = np.zeros(3)
            for step in range(steps):
                callbacks.on_train_batch_begin(step)
                flag = yes if model.stop_training else no  # this worker's wish, if any
                result = self._run(self._train_step, iterator, examples[step], flag)
                totals += result[:3]
                logs = {"accuracy": totals[1] / totals[2], "loss": totals[0] / totals[2]}
                callbacks.on_train_batch_end(step, logs)
                if result[3] > 0:  # some worker asked to stop: every worker ends here
                    stopped = True
                    break
            if stopped:
                model.stop_training = True  # so the callbacks know, on every worker
            if validation is not None and not (stopped and step + 1 < steps):
                val_loss, val_accuracy = self.evaluate(*validation, batch_size=batch)
                logs.update(val_accuracy=val_accuracy, val_loss=val_loss)
            callbacks.on_epoch_end(epoch, logs)
            if stopped:
                break
        callbacks.on_train_end()

    def evaluate(self, x, y, batch_size: int) -> tuple[float, float]:
        """Loss and accuracy over (x, y) in global batches of `batch_size`, every worker
        taking a share of each batch."""
        import numpy as np

        totals = np.zeros(3)
        iterator = iter(self._distribute(x, y, batch_size))
        for _ in range(math.ceil(len(x) / batch_size)):
            totals += self._run(self._test_step, iterator)[:3]
        return float(totals[0] / totals[2]), float(totals[1] / totals[2])

    def predict_here(self, x, batch_size: int = 1000):
        """Logits of this worker's own copy of the model for `x`, with no collective: on the
        chief, exactly the model it saves. (Batch normalisation keeps its moving statistics
        per worker, so the workers' copies differ in those.)"""
        import numpy as np

        parts = [
            self._run(self._local_predict, x[start : start + batch_size])
            for start in range(0, len(x), batch_size)
        ]
        return np.concatenate(parts)

    def _distribute(self, x, y, batch: int, shuffle_epochs: int = 0):
        """Global batches, split between the replicas of all workers.

        Every worker builds the same batches (the same shuffle for each epoch, from the
        seed) and keeps its own part of each, so each example is seen once an epoch. With
        `shuffle_epochs`, all the epochs in a row, each in a new order."""
        import tensorflow as tf

        images, labels = tf.constant(x), tf.constant(y)
        count, seed = len(x), self.seed

        def epoch_batches(epoch):
            order = tf.range(count, dtype=tf.int64)
            if shuffle_epochs:
                seeds = tf.stack([tf.constant(seed, tf.int64), epoch])
                order = tf.random.experimental.stateless_shuffle(order, seed=seeds)
            return tf.data.Dataset.from_tensor_slices(order).batch(batch)

        epochs = tf.data.Dataset.range(max(1, shuffle_epochs))
        dataset = epochs.flat_map(epoch_batches).map(
            lambda index: (tf.gather(images, index), tf.gather(labels, index)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        dataset = dataset.with_options(options).prefetch(tf.data.AUTOTUNE)
        return self.strategy.experimental_distribute_dataset(dataset)

    @staticmethod
    def _run(step, *args):
        import tensorflow as tf

        try:
            return step(*args).numpy()
        except tf.errors.OpError as error:
            raise RuntimeError(_short_tf_error(error)) from error


def compiled_predict(model, batch: int = 1000):
    """images -> logits through one traced forward pass per batch: half the time of
    model.predict for the 10,000 test pictures every epoch (measured here on the Small CNN:
    0.65 s against 1.35 s), which the recording adds to each epoch."""
    import numpy as np
    import tensorflow as tf

    forward = tf.function(lambda images: model(images, training=False), reduce_retracing=True)

    def predict(images):
        parts = [forward(tf.constant(images[i : i + batch])) for i in range(0, len(images), batch)]
        return np.concatenate([part.numpy() for part in parts])

    return predict


def live_sample(writer: RunWriter, labels) -> list[int]:
    """Every picture of every live set (history.live_indices), the hardest ones taken from
    the newest other run with a recorded history; the page picks the set it shows."""
    last_history = None
    for info in RunStore(writer.path.parent).list_runs():
        history = read_history(info.path / HISTORY_FILE, max_epochs=info.epochs_done)
        if info.run_id != writer.run_id and len(history):
            last_history = history
            break
    sets = live_indices(labels, last_history)
    return sorted({index for indices in sets.values() for index in indices})


def run_training(writer: RunWriter, verbose: int | str = 0) -> dict:
    """Train the run described by `writer.config` to the end, or until Stop; return status.

    On an error the run is marked failed with a one-line error (the full traceback goes to
    the run's error.log), and the error is raised again for the caller to report."""
    try:
        config = TrainConfig.from_dict(writer.config).validate()  # a bad config is "failed"
        configure_devices(config)
        return _train(writer, config, verbose)
    except BaseException as error:
        writer.record_failure(error)  # never raises: `error` is what propagates
        raise
    finally:
        writer.release()


def _train(writer: RunWriter, config: TrainConfig, verbose) -> dict:
    import keras

    strategy = make_strategy(config)
    multi_worker = config.strategy == "multi-worker"
    replicas = strategy.num_replicas_in_sync
    global_batch = config.batch_size * replicas

    dataset = load_dataset()
    limit = config.train_limit or len(dataset.train)
    x_train = scale_images(dataset.train.images[:limit])
    y_train = dataset.train.labels[:limit].astype("int32")
    x_test = scale_images(dataset.test.images)
    y_test = dataset.test.labels.astype("int32")

    # Keras keeps the first floor(n * (1 - split)) samples for training: count as it does.
    train_count = int(math.floor(limit * (1.0 - config.validation_split)))
    steps_per_epoch = math.ceil(train_count / global_batch)
    writer.write_status(
        strategy=config.strategy,
        xla=trains_with_xla(config),
        replicas=replicas,
        global_batch_size=global_batch,
        steps_per_epoch=steps_per_epoch,
        train_images=train_count,
        pid=os.getpid(),
    )

    keras.utils.set_random_seed(config.seed)  # whole process: one job per process
    with strategy.scope():
        if config.parent:  # continue a run: its weights and optimizer state
            parent = RunStore(writer.path.parent).load_model(config.parent)
            model = continue_model(parent, config, steps_per_epoch)
        else:
            model = build_model(config, steps_per_epoch)
    # For this fit only: the saved model keeps Keras' own setting (its compile config), so a
    # page that loads it predicts as before.
    model.jit_compile = trains_with_xla(config)
    # Keras' fit cannot run MultiWorkerMirroredStrategy: see CustomLoop.
    loop = CustomLoop(strategy, model, global_batch, config.seed) if multi_worker else None
    if loop:
        predict = predict_few = loop.predict_here
    else:
        predict = compiled_predict(model)
        predict_few = lambda x: model(x, training=False).numpy()  # noqa: E731
    test = TestSet(x_test, y_test, predict, predict_few, live_sample(writer, y_test))
    recorder = make_recorder(writer, config, steps_per_epoch, test)
    try:
        if loop:
            callbacks = keras.callbacks.CallbackList(
                [recorder],
                add_progbar=verbose != 0,
                model=model,
                verbose=verbose,
                epochs=config.epochs,
                steps=steps_per_epoch,
            )
            validation = (x_train[train_count:], y_train[train_count:])
            loop.fit(
                x_train[:train_count],
                y_train[:train_count],
                epochs=config.epochs,
                callbacks=callbacks,
                validation=validation if config.validation_split else None,
            )
        else:
            model.fit(
                x_train,
                loss_targets(model, y_train),
                epochs=config.epochs,
                batch_size=global_batch,
                validation_split=config.validation_split,
                callbacks=[recorder],
                verbose=verbose,
            )
    finally:
        recorder.close()

    status = STOPPED if recorder.stopped_early else COMPLETED
    # The last epoch's checkpoint is the final model, and its test predictions are recorded,
    # unless a Stop cut an epoch short: then the model is saved and tested here.
    if recorder.saved_digest:
        digest, (test_loss, test_accuracy) = recorder.saved_digest, recorder.last_test
    else:
        writer.write_status(phase=SAVING)
        digest = save_model_atomically(model, writer.path / MODEL_FILE)
        writer.write_status(phase=TESTING)
        test_loss, test_accuracy = test.score(softmax(test.predict(x_test)))
    final = {
        "status": status,
        "test_loss": float(test_loss),
        "test_accuracy": float(test_accuracy),
        "model_sha256": digest,
        "finished_at": time.time(),
        "parameters": int(model.count_params()),
    }
    writer.write_status(**final)
    return final


def _floats(logs) -> dict:
    return {key: float(value) for key, value in (logs or {}).items()}


def _current_rate(model) -> float | None:
    try:
        rate = model.optimizer.learning_rate
        return float(rate.numpy() if hasattr(rate, "numpy") else rate)
    except Exception:  # schedules and odd optimizers: the rate is informative only
        return None


def _short_tf_error(error) -> str:
    """A TensorFlow runtime error in a line: its kind and message, without the trace of graph
    nodes TensorFlow appends (which can run to thousands of characters)."""
    kept, in_trace = [], False
    for line in str(getattr(error, "message", error)).splitlines():
        text = line.strip()
        if text.startswith("Detected at node"):
            in_trace = True  # "... defined at (most recent call last):" and indented frames
            continue
        if in_trace and (line[:1].isspace() or not text):
            continue
        in_trace = False
        text = re.sub(r"\[\[.*?\]\]|\[Op:[^\]]*\]", "", text).strip()
        if text and text != "Graph execution error:":
            kept.append(text)
    message = " ".join(kept)
    # A lost worker: "... aborted by: Socket closed Additional GRPC error information from
    # remote target /job:worker/replica:0/task:1 while calling ...": keep who, drop the rest.
    message = re.sub(
        r"\s*Additional GRPC error information from remote target (\S+).*",
        r" (from \1)",
        message,
    )
    if len(message) > TF_ERROR_CHARS:
        message = message[: TF_ERROR_CHARS - 3] + "..."
    return f"{type(error).__name__} in distributed training: {message or 'no details'}"
