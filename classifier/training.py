"""Train one run: prepare the data, build the model under a distribution strategy, fit with
live recording into the run store, evaluate on the test set, save.

This runs in a training process (the command line, or a worker the job manager starts),
never in Streamlit's script thread: see DESIGN.md on why `fit()` in a page fails.
"""

from __future__ import annotations

import json
import math
import os
import time
import traceback

from classifier.data import load_dataset, scale_images
from classifier.models import TrainConfig, build_model
from classifier.runs import (
    BATCHES_FILE,
    COMPLETED,
    FAILED,
    METRICS_FILE,
    MODEL_FILE,
    STOPPED,
    RunWriter,
    append_json_line,
    save_model_atomically,
)

# Batch lines are flushed at most this often: the page polls about once a second.
BATCH_FLUSH_SECONDS = 0.2


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


def make_recorder(writer: RunWriter, config: TrainConfig, steps_per_epoch: int):
    """A Keras callback that logs every batch and epoch to the run and obeys Stop."""
    import keras

    class LiveRecorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.stopped_early = False
            self.epoch = 0
            self.epoch_started = time.time()
            self.last_batch = 0
            self.last_flush = 0.0
            self.saved_digest = None  # sha256 of the checkpoint of the current weights, if any
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
            if writer.stop_requested:
                self.stopped_early = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            self.batches.flush()
            if self.stopped_early and self.last_batch < steps_per_epoch:
                return  # Keras ends a stopped epoch early; half an epoch is not logged
            record = {"epoch": epoch + 1, **_floats(logs)}
            record["epoch_seconds"] = time.time() - self.epoch_started
            record["time"] = time.time()
            record["learning_rate"] = _current_rate(self.model)
            append_json_line(self.metrics, record)
            self.saved_digest = save_model_atomically(self.model, writer.path / MODEL_FILE)
            writer.write_status(epochs_done=epoch + 1, model_sha256=self.saved_digest)

        def close(self):
            self.batches.close()
            self.metrics.close()

    return LiveRecorder()


def run_training(writer: RunWriter, verbose: int | str = 0) -> dict:
    """Train the run described by `writer.config` to the end, or until Stop; return status."""
    try:
        config = TrainConfig.from_dict(writer.config).validate()  # a bad config is "failed"
        configure_devices(config)
        return _train(writer, config, verbose)
    except BaseException as error:
        message = f"{type(error).__name__}: {error}"
        writer.write_status(status=FAILED, error=message, finished_at=time.time())
        if not isinstance(error, Exception):
            raise  # KeyboardInterrupt and the like still end the process
        traceback.print_exc()
        raise
    finally:
        writer.release()


def _train(writer: RunWriter, config: TrainConfig, verbose) -> dict:
    import keras

    strategy = make_strategy(config)
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
        replicas=replicas,
        global_batch_size=global_batch,
        steps_per_epoch=steps_per_epoch,
        train_images=train_count,
        pid=os.getpid(),
    )

    keras.utils.set_random_seed(config.seed)  # whole process: one job per process
    with strategy.scope():
        model = build_model(config, steps_per_epoch)
    recorder = make_recorder(writer, config, steps_per_epoch)
    try:
        model.fit(
            x_train,
            y_train,
            epochs=config.epochs,
            batch_size=global_batch,
            validation_split=config.validation_split,
            callbacks=[recorder],
            verbose=verbose,
        )
    finally:
        recorder.close()

    status = STOPPED if recorder.stopped_early else COMPLETED
    # The last epoch's checkpoint is the final model, unless a Stop cut an epoch short.
    digest = recorder.saved_digest or save_model_atomically(model, writer.path / MODEL_FILE)
    test_loss, test_accuracy = model.evaluate(
        x_test, y_test, batch_size=256, verbose=0, return_dict=False
    )
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
