"""The files of a HyperParameters artifact (pure Python: the Trainer, the Tuner and the CLI
read them without importing a learner).

Layout::

    {uri}/best_hyperparameters.txt   JSON object: hyperparameter name -> value
    {uri}/trials.json                (from a tuner) {"metric", "direction", "best_trial",
                                     "trials": [{"trial", "hyperparameters", "score",
                                     "status", "metrics"}]}

``best_hyperparameters.txt`` keeps TFX's file name, so a TFX Tuner's output imports as is.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

from conveyor.errors import DataError

BEST_FILE = "best_hyperparameters.txt"
TRIALS_FILE = "trials.json"


def read_hyperparameters(uri: str) -> dict[str, Any]:
    """The hyperparameters of the HyperParameters artifact at ``uri``.

    TFX's Tuner writes ``{"space": [...], "values": {...}}`` (keras-tuner's
    ``HyperParameters.get_config()``); its ``values`` are taken. Raises :class:`DataError`
    naming the file when it is missing or not a JSON object.
    """
    path = os.path.join(uri, BEST_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise DataError(f"{path} is missing: the HyperParameters artifact holds no "
                        f"{BEST_FILE}") from None
    except json.JSONDecodeError as err:
        raise DataError(f"{path}, line {err.lineno}: not JSON ({err.msg}); write a JSON object "
                        f"of hyperparameter name -> value") from err
    if isinstance(data, dict) and set(data) == {"space", "values"} \
            and isinstance(data["values"], dict):
        data = data["values"]
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object of hyperparameter name -> value, got "
                        f"{type(data).__name__}")
    return data


def write_hyperparameters(uri: str, best: Mapping[str, Any],
                          trials: Sequence[Mapping[str, Any]] | None = None, *,
                          metric: str = "", direction: str = "",
                          best_trial: str | None = None) -> None:
    """Write ``best`` (and, from a tuner, every trial) under ``uri`` in the layout above."""
    os.makedirs(uri, exist_ok=True)
    with open(os.path.join(uri, BEST_FILE), "w", encoding="utf-8") as f:
        json.dump(dict(best), f, indent=2, sort_keys=True)
    if trials is None:
        return
    record = {"metric": metric, "direction": direction, "best_trial": best_trial,
              "trials": [dict(t) for t in trials]}
    with open(os.path.join(uri, TRIALS_FILE), "w", encoding="utf-8") as f:
        json.dump(record, f, indent=2, sort_keys=True)


def read_trials(uri: str) -> dict[str, Any]:
    """The ``trials.json`` record of a tuner's HyperParameters artifact."""
    path = os.path.join(uri, TRIALS_FILE)
    if not os.path.isfile(path):
        raise DataError(f"{path} is missing: these hyperparameters were not found by a tuner")
    with open(path, encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data
