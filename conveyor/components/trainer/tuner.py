"""Executor of :class:`~conveyor.components.trainer.tuner_component.Tuner`: the user's
keras-tuner search, as TFX's Tuner runs it.

``tuner_fn(args)`` builds the tuner; this executor seeds Python, NumPy and TensorFlow, caps the
trials (``max_trials``), runs ``tuner.search(**fit_kwargs)`` and reads the oracle's trials
back: ``best_hyperparameters.txt`` is the best trial's values (what keras-tuner's
``get_best_hyperparameters`` returns), ``trials.json`` every trial with its values, score,
status and last metric values. The tuner's own files live in ``args.working_dir``, a private
directory removed after the run.
"""
from __future__ import annotations

import os
from typing import Any

from conveyor.artifacts import Examples, HyperParameters, Schema, TransformGraph
from conveyor.components.trainer.args import TrainerArgs, TunerFnResult
from conveyor.components.trainer.data import ExamplesAccessor
from conveyor.components.trainer.hyperparameters import write_hyperparameters
from conveyor.components.trainer.user_code import load_user_function
from conveyor.data.examples import find_split_files
from conveyor.data.layout import SCHEMA_FILE, split_names
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import (
    ConveyorError,
    DataError,
    ExecutionError,
    ModuleFileError,
    did_you_mean,
)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow (Keras' own helper), so trials repeat."""
    import keras

    keras.utils.set_random_seed(seed)


def search(*, examples: Examples, module_file: str | None, tuner_fn: str,
           max_trials: int | None, train_steps: int | None, eval_steps: int | None,
           custom_config: dict[str, Any], train_split: str, eval_split: str, seed: int,
           best_hyperparameters: HyperParameters, context: ExecutionContext,
           schema: Schema | None = None, transform_graph: TransformGraph | None = None) -> None:
    """Executor of Tuner: build the tuner with ``tuner_fn``, search, record the trials."""
    where = f"Tuner '{context.node_id}'"
    try:
        user = load_user_function(module_file, tuner_fn, role="tuner_fn")
    except ModuleFileError as err:
        raise ModuleFileError(f"{where} field 'tuner_fn': {err}") from err
    splits = split_names(examples)
    files = {}
    for key, split in (("train_split", train_split), ("eval_split", eval_split)):
        if split not in splits:
            raise DataError(f"{where} field '{key}': the Examples at {examples.uri} have no "
                            f"split '{split}'.{did_you_mean(split, splits)} Their splits: "
                            f"{', '.join(splits)}")
        files[split] = find_split_files(examples.uri, split).patterns()
    working_dir = os.path.join(context.scratch_dir, "tuner")
    os.makedirs(working_dir, exist_ok=True)
    schema_file = os.path.join(schema.uri, SCHEMA_FILE) if schema is not None else None
    args = TrainerArgs(
        train_files=files[train_split], eval_files=files[eval_split],
        serving_model_dir=os.path.join(working_dir, "serving"), model_dir=working_dir,
        model_run_dir=working_dir,
        data_accessor=ExamplesAccessor(schema_file=schema_file, seed=seed),
        transform_output=transform_graph.uri if transform_graph is not None else None,
        schema_file=schema_file, train_steps=train_steps, eval_steps=eval_steps,
        custom_config=dict(custom_config), seed=seed, working_dir=working_dir)
    seed_everything(seed)
    named = f"{where}: tuner_fn {user.where}"
    result = user.call(args, role=f"{where}: tuner_fn")
    tuner = _check_result(result, named)
    if max_trials is not None:
        tuner.oracle.max_trials = max_trials
    try:
        tuner.search(**result.fit_kwargs)
    except ConveyorError:
        raise
    except Exception as err:
        raise ExecutionError(f"{named}: the tuner's search raised {type(err).__name__}: "
                             f"{err}") from err
    _record(tuner, best_hyperparameters, where)


def _check_result(result: Any, named: str) -> Any:
    if not isinstance(result, TunerFnResult):
        raise ModuleFileError(f"{named} returned {type(result).__name__}, not a TunerFnResult; "
                              f"return TunerFnResult(tuner=..., fit_kwargs={{...}}) (from "
                              f"conveyor.components.trainer.args)")
    missing = [a for a in ("search", "oracle", "get_best_hyperparameters")
               if not hasattr(result.tuner, a)]
    if missing:
        raise ModuleFileError(f"{named} returned a tuner of type {type(result.tuner).__name__} "
                              f"without {', '.join(missing)}; return a keras_tuner.Tuner")
    return result.tuner


def _record(tuner: Any, output: HyperParameters, where: str) -> None:
    oracle = tuner.oracle
    objective = oracle.objective
    trials = []
    for trial in sorted(oracle.trials.values(), key=lambda t: _trial_order(t.trial_id)):
        metrics = {name: _number(trial.metrics.get_last_value(name))
                   for name in trial.metrics.metrics}
        trials.append({"trial": str(trial.trial_id), "status": str(trial.status),
                       "hyperparameters": dict(trial.hyperparameters.values),
                       "score": _number(trial.score), "metrics": metrics})
    completed = oracle.get_best_trials(num_trials=1)
    if not completed:
        raise ExecutionError(f"{where}: the search completed no trial ({len(trials)} tried); "
                             f"see the node's log for each trial's error")
    best = completed[0]
    name = getattr(objective, "name", str(objective))
    direction = getattr(objective, "direction", "")
    write_hyperparameters(output.uri, dict(best.hyperparameters.values), trials,
                          metric=name, direction=direction, best_trial=str(best.trial_id))
    output.custom_properties.update(
        {"metric": name, "best_score": _number(best.score) or 0.0, "trials": len(trials),
         "summary": f"best {dict(best.hyperparameters.values)} {name} "
                    f"{_number(best.score)}"})


def _trial_order(trial_id: str) -> tuple[int, str]:
    return (int(trial_id), "") if str(trial_id).isdigit() else (1 << 62, str(trial_id))


def _number(value: Any) -> float | None:
    return None if value is None else float(value)
