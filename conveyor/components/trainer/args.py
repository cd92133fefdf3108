"""What the Trainer hands to a user's ``run_fn`` (and the Tuner to a ``tuner_fn``).

The contract, as TFX users know it from ``FnArgs``::

    def run_fn(args: TrainerArgs) -> None:
        train = args.data_accessor.tf_dataset(
            args.train_files, batch_size=32, label_key="species_xf",
            transform_output=args.transform_output)
        model.fit(train, ..., callbacks=training_callbacks(args))   # metrics.json, TensorBoard
        export_serving_model(model, args.serving_model_dir,         # raw tf.Examples in, the
                             transform_output=args.transform_output,  # transform graph inside
                             label_key="species")
        args.describe_model(task="classification", label_key="species", classes=[...])

(``training_callbacks`` from :mod:`conveyor.components.trainer.keras_records`,
``export_serving_model`` from :mod:`conveyor.components.trainer.keras_export`; any SavedModel
honouring :mod:`conveyor.models.format` will do. A complete example:
``conveyor/examples/penguin_keras.py``.)

Non-TensorFlow learners read ``args.data_accessor.pandas(args.train_files)`` (or Arrow record
batches) and return a fitted estimator from ``run_fn``; the Trainer saves it under
``Format-Estimator/`` (see :mod:`conveyor.models.format`).

This module is pure Python: it imports neither TensorFlow nor pandas.
"""
from __future__ import annotations

import abc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from conveyor.models.format import ModelInfo, Task


class DataAccessor(abc.ABC):
    """Reads the Examples given to a Trainer or Tuner in the form a learner wants.

    ``files`` are the file patterns of ``TrainerArgs.train_files`` / ``eval_files`` (TFRecords of
    tf.Example, gzipped or not, or Parquet, as ExampleGen and Transform write them).
    """

    @abc.abstractmethod
    def tf_dataset(self, files: Sequence[str], *, batch_size: int,
                   label_key: str | None = None, transform_output: str | None = None,
                   shuffle: bool = True, num_epochs: int | None = None,
                   seed: int | None = None) -> Any:
        """A ``tf.data.Dataset`` of ``(features, label)`` batches (or ``features`` alone when
        ``label_key`` is None). Features are parsed with the transformed feature spec when
        ``transform_output`` is given (the files are then transformed examples), else with
        the raw feature spec of the schema. ``num_epochs=None`` repeats forever."""

    @abc.abstractmethod
    def record_batches(self, files: Sequence[str], *,
                       batch_rows: int = 20_000) -> Iterator[Any]:
        """Stream the rows as ``pyarrow.RecordBatch`` es of list columns (as TFDV reads them)."""

    @abc.abstractmethod
    def pandas(self, files: Sequence[str]) -> Any:
        """All rows as one ``pandas.DataFrame`` with flat columns (a missing value is NaN or
        None); for learners that train in memory."""


@dataclass
class TrainerArgs:
    """Everything a ``run_fn`` needs; field names follow TFX's ``FnArgs`` where it has one."""

    #: File patterns of the training and evaluation splits.
    train_files: list[str]
    eval_files: list[str]
    #: Where ``run_fn`` writes a TensorFlow SavedModel (``{model.uri}/Format-Serving``).
    serving_model_dir: str
    #: The Model artifact's directory (model_info.json and Format-* live under it).
    model_dir: str
    #: The ModelRun artifact's directory: TensorBoard logs go under ``{model_run_dir}/logs``.
    model_run_dir: str
    data_accessor: DataAccessor
    #: The tf.Transform output directory (a TransformGraph artifact), when Transform ran.
    transform_output: str | None = None
    #: The path of a schema.pbtxt, when a Schema was wired.
    schema_file: str | None = None
    train_steps: int | None = None
    eval_steps: int | None = None
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    custom_config: dict[str, Any] = field(default_factory=dict)
    #: Seed for every random choice; same seed and data give the same model.
    seed: int = 0
    #: Set by :meth:`describe_model`; the Trainer writes it as ``model_info.json``.
    model_info: ModelInfo | None = None
    #: (Tuner) a private directory for the tuner's own files (keras-tuner's ``directory``).
    working_dir: str | None = None

    def describe_model(self, *, task: Task, label_key: str, classes: Sequence[object] | None = None,
                       features: dict[str, str] | None = None,
                       framework: str = "tensorflow") -> None:
        """Say what the exported model predicts (see :class:`conveyor.models.ModelInfo`);
        Evaluator and Pusher need it."""
        self.model_info = ModelInfo(
            framework=framework,  # type: ignore[arg-type]  # checked when written
            task=task, label_key=label_key, features=dict(features or {}),
            classes=[str(c) for c in classes] if classes is not None else None)


@dataclass
class TunerFnResult:
    """What a ``tuner_fn(args: TrainerArgs)`` returns to the Tuner, as in TFX: a keras-tuner
    tuner (``keras_tuner.Tuner`` or any object with its ``search``, ``oracle`` and
    ``get_best_hyperparameters``) and the keyword arguments of its ``search`` call."""

    tuner: Any
    fit_kwargs: dict[str, Any] = field(default_factory=dict)
