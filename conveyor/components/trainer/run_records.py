"""The files of a :class:`~conveyor.artifacts.ModelRun`: ``metrics.json`` and ``logs/``.

Layout::

    {uri}/metrics.json    {"epochs": [{"epoch": 1, "loss": ..., "accuracy": ...,
                                       "val_loss": ..., "val_accuracy": ...}, ...]}
    {uri}/logs/           TensorBoard event files (Keras: logs/train/, logs/validation/)

Pure Python, so the CLI and notebook can read training records without TensorFlow. Keras
writes them through :mod:`conveyor.components.trainer.keras_records`; any other learner may
call :func:`write_metrics` itself.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

from conveyor.errors import DataError

METRICS_FILE = "metrics.json"
LOGS_DIR = "logs"


def write_metrics(model_run_dir: str, epochs: Sequence[Mapping[str, float | None]]) -> str:
    """Write ``metrics.json`` (one object per epoch, in order) atomically; returns its path."""
    path = os.path.join(model_run_dir, METRICS_FILE)
    os.makedirs(model_run_dir, exist_ok=True)
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump({"epochs": [dict(e) for e in epochs]}, f, indent=1)
    os.replace(temporary, path)
    return path


def read_metrics(model_run_dir: str) -> list[dict[str, float | None]]:
    """The epochs recorded in ``metrics.json``; DataError naming the file when malformed."""
    path = os.path.join(model_run_dir, METRICS_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            epochs = json.load(f)["epochs"]
        if not isinstance(epochs, list) or not all(isinstance(e, dict) for e in epochs):
            raise TypeError("'epochs' is not a list of objects")
    except FileNotFoundError:
        raise DataError(f"{path} does not exist: the training run recorded no metrics") \
            from None
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise DataError(f"{path}: not a metrics file ({err}); it must be "
                        f'{{"epochs": [{{"loss": ..., ...}}, ...]}}') from err
    return epochs


def final_metrics(epochs: Sequence[Mapping[str, float | None]]) -> dict[str, float]:
    """The numeric metrics of the last epoch (without the epoch number)."""
    last = epochs[-1] if epochs else {}
    return {name: float(value) for name, value in last.items()
            if name != "epoch" and isinstance(value, (int, float))}
