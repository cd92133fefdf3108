"""Training records of a Keras ``run_fn``: ``metrics.json`` and TensorBoard logs in the ModelRun.

A Keras ``run_fn`` passes :func:`training_callbacks` to ``model.fit``::

    model.fit(train, validation_data=evaluation, epochs=..., steps_per_epoch=...,
              callbacks=training_callbacks(args))

which writes, under ``args.model_run_dir`` (the ModelRun artifact)::

    metrics.json    {"epochs": [{"epoch": 1, "loss": ..., "accuracy": ..., "val_loss": ...,
                                 "val_accuracy": ...}, ...]}    rewritten after every epoch
    logs/train/, logs/validation/    TensorBoard event files (keras.callbacks.TensorBoard)

The Trainer reads ``metrics.json`` after the ``run_fn`` returns and records the last epoch's
metrics as custom properties of the ModelRun and the Model. Any other learner may write the
same ``metrics.json`` itself (:func:`conveyor.components.trainer.run_records.write_metrics`).
"""
from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import keras

from conveyor.components.trainer.args import TrainerArgs
from conveyor.components.trainer.run_records import LOGS_DIR, write_metrics


class MetricsFile(keras.callbacks.Callback):  # type: ignore[misc]  # keras is untyped
    """Keras callback appending each epoch's logs (loss, metrics, ``val_*``) to
    ``{model_run_dir}/metrics.json``."""

    def __init__(self, model_run_dir: str) -> None:
        super().__init__()
        self.model_run_dir = model_run_dir
        self.epochs: list[dict[str, float | None]] = []

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        """Start a fresh record (a second ``fit`` starts over)."""
        self.epochs = []

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        """Record the epoch (numbered from 1) and rewrite the file."""
        record: dict[str, float | None] = {"epoch": epoch + 1}
        for name, value in (logs or {}).items():
            number = float(value)
            # JSON has no NaN: a diverged loss is recorded as null rather than breaking the file.
            record[name] = number if math.isfinite(number) else None
        self.epochs.append(record)
        write_metrics(self.model_run_dir, self.epochs)


def training_callbacks(args: TrainerArgs) -> list[keras.callbacks.Callback]:
    """The callbacks that record a Keras training run into the ModelRun artifact: a
    :class:`MetricsFile` and a ``keras.callbacks.TensorBoard`` writing under ``logs/``."""
    return [MetricsFile(args.model_run_dir),
            keras.callbacks.TensorBoard(log_dir=os.path.join(args.model_run_dir, LOGS_DIR),
                                        write_graph=False, profile_batch=0)]
