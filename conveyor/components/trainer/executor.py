"""Executor of the Trainer: build :class:`TrainerArgs`, call the user's ``run_fn``, check and
describe what it produced.

1. Load the ``run_fn`` (:mod:`.user_code`), seed Python, NumPy and (when the module uses it)
   TensorFlow with ``seed``.
2. Call it with the file patterns of ``train_split`` and ``eval_split``, the transform output,
   schema, hyperparameters and an :class:`~conveyor.components.trainer.data.ExamplesAccessor`.
3. A returned estimator is saved by :func:`conveyor.components.trainer.estimators.save_estimator`;
   otherwise the SavedModel in ``Format-Serving/`` must honour the serving contract
   (:mod:`.serving_check`) and ``args.describe_model`` must have been called; then
   ``model_info.json`` is written.
4. The ModelRun keeps ``metrics.json`` (empty when the ``run_fn`` recorded none) and
   TensorBoard logs; the last epoch's metrics become custom properties of ModelRun and Model.

Any error is raised, so the launcher publishes nothing and marks the execution failed.
"""
from __future__ import annotations

import os
import random
import sys
import time
from typing import Any

from conveyor.artifacts import Examples, HyperParameters, Model, ModelRun, Schema, TransformGraph
from conveyor.components.trainer.args import TrainerArgs
from conveyor.components.trainer.data import ExamplesAccessor
from conveyor.components.trainer.hyperparameters import read_hyperparameters
from conveyor.components.trainer.run_records import (
    METRICS_FILE,
    final_metrics,
    read_metrics,
    write_metrics,
)
from conveyor.components.trainer.serving_check import check_serving_model
from conveyor.components.trainer.user_code import UserFunction, load_user_function
from conveyor.data.examples import find_split_files
from conveyor.data.layout import SCHEMA_FILE, read_schema_file
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import DataError, ExecutionError
from conveyor.models.format import SERVING_DIR, ModelInfo, write_model_info


def run(examples: Examples, model: Model, model_run: ModelRun, context: ExecutionContext, *,
        transform_graph: TransformGraph | None = None, schema: Schema | None = None,
        hyperparameters: HyperParameters | None = None, module_file: str | None = None,
        run_fn: str = "run_fn", train_steps: int | None = None, eval_steps: int | None = None,
        train_split: str = "train", eval_split: str = "eval",
        custom_config: dict[str, Any] | None = None, seed: int = 0) -> None:
    """Executor of :class:`~conveyor.components.trainer.component.Trainer` (module docstring)."""
    user = load_user_function(module_file, run_fn)
    schema_file = os.path.join(schema.uri, SCHEMA_FILE) if schema is not None else None
    args = TrainerArgs(
        train_files=_patterns(examples, train_split, "train_split"),
        eval_files=_patterns(examples, eval_split, "eval_split"),
        serving_model_dir=os.path.join(model.uri, SERVING_DIR),
        model_dir=model.uri,
        model_run_dir=model_run.uri,
        data_accessor=ExamplesAccessor(schema_file=schema_file, seed=seed),
        transform_output=transform_graph.uri if transform_graph is not None else None,
        schema_file=schema_file,
        train_steps=train_steps,
        eval_steps=eval_steps,
        hyperparameters=read_hyperparameters(hyperparameters.uri) if hyperparameters else {},
        custom_config=dict(custom_config or {}),
        seed=seed,
    )
    seed_everything(seed)
    context.logger.info("calling run_fn %s (train_steps=%s, eval_steps=%s)", user.where,
                        train_steps, eval_steps)
    started = time.monotonic()
    estimator = user.call(args)
    elapsed = time.monotonic() - started
    if estimator is not None:
        _save_estimator(user, model.uri, estimator, args.model_info)
    else:
        info = _describe(user, args, schema_file)
        check_serving_model(args.serving_model_dir, info, f"run_fn {user.where}")
        write_model_info(model.uri, info)
    final = record_metrics(model_run.uri, context)
    for artifact in (model, model_run):
        artifact.custom_properties.update(final)
        artifact.custom_properties["train_seconds"] = round(elapsed, 3)
    if examples.span is not None:
        model.custom_properties["examples_span"] = int(examples.span)
    context.logger.info("trained in %.1f s; final metrics %s", elapsed, final or "(none)")


def _patterns(examples: Examples, split: str, field: str) -> list[str]:
    try:
        return find_split_files(examples.uri, split).patterns()
    except DataError as err:
        raise DataError(f"Trainer.{field}='{split}': {err}. Choose one of the splits of the "
                        f"Examples ({', '.join(examples.split_names or []) or 'none recorded'})"
                        ) from err


def seed_everything(seed: int) -> None:
    """Seed Python's and NumPy's generators, and TensorFlow's when it is imported (by the
    user's module), so a run_fn that draws no seed of its own is repeatable."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed)
    if "tensorflow" in sys.modules:
        import tensorflow as tf

        tf.keras.utils.set_random_seed(seed)


def _describe(user: UserFunction, args: TrainerArgs, schema_file: str | None) -> ModelInfo:
    """``args.model_info`` checked against the schema, its raw features filled from the schema
    when the run_fn named none."""
    info = args.model_info
    if info is None:
        raise ExecutionError(
            f"run_fn {user.where} did not describe its model: call args.describe_model(task="
            f"'classification', label_key=..., classes=[...]) (or task='regression') before "
            f"returning, so the Evaluator and Pusher know what it predicts")
    if info.framework != "tensorflow":
        raise ExecutionError(f"run_fn {user.where} exported a SavedModel but described its "
                             f"framework as '{info.framework}'; use framework='tensorflow'")
    if schema_file is None:
        return info
    raw = {f.name: f.type for f in read_schema_file(schema_file).feature}
    if info.label_key not in raw:
        raise DataError(f"run_fn {user.where}: label '{info.label_key}' is not a column of the "
                        f"data (schema {schema_file} has {', '.join(sorted(raw))}); "
                        f"describe_model(label_key=...) takes the raw label column")
    if not info.features:
        from tensorflow_metadata.proto.v0 import schema_pb2

        kinds = {schema_pb2.INT: "int", schema_pb2.FLOAT: "float", schema_pb2.BYTES: "string"}
        info.features = {name: kinds.get(kind, "string") for name, kind in raw.items()
                         if name != info.label_key}
    return info


def _save_estimator(user: UserFunction, model_uri: str, estimator: Any,
                    info: ModelInfo | None) -> None:
    where = f"run_fn {user.where}"
    if info is None:
        raise ExecutionError(
            f"{where} returned a {type(estimator).__name__} but did not describe it: call "
            f"args.describe_model(task=..., label_key=..., classes=[...], features={{...}}) "
            f"before returning, so the Evaluator and Pusher know what it predicts")
    try:
        from conveyor.components.trainer.estimators import save_estimator
    except ImportError as err:
        raise ExecutionError(f"{where} returned a {type(estimator).__name__}, but saving "
                             f"estimators is unavailable here: {err}") from err
    try:
        save_estimator(model_uri, estimator, info)
    except (TypeError, ValueError) as err:
        raise ExecutionError(f"{where} returned an estimator that cannot be saved: {err}") \
            from err


def record_metrics(model_run_uri: str, context: ExecutionContext) -> dict[str, float]:
    """Check ``metrics.json`` in the ModelRun (write an empty one when the run_fn recorded
    none) and return the last epoch's numeric metrics."""
    if not os.path.isfile(os.path.join(model_run_uri, METRICS_FILE)):
        context.logger.warning(
            "the run_fn recorded no %s; pass conveyor.components.trainer.keras_records."
            "training_callbacks(args) to model.fit to record metrics and TensorBoard logs",
            METRICS_FILE)
        write_metrics(model_run_uri, [])
        return {}
    return final_metrics(read_metrics(model_run_uri))
