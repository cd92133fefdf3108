"""Declaration of the Trainer (cheap to import: no TensorFlow).

::

    trainer = Trainer(examples=transform.outputs.transformed_examples,
                      transform_graph=transform.outputs.transform_graph,
                      schema=schema_gen.outputs.schema,
                      module_file="penguin_keras.py",        # defines run_fn(args)
                      train_steps=200, eval_steps=5)
    # or a function in an importable module:  Trainer(..., run_fn="my_pkg.model:run_fn")

The user's ``run_fn(args: TrainerArgs)`` (see :mod:`conveyor.components.trainer.args`) trains
and either exports a TensorFlow SavedModel to ``args.serving_model_dir`` and describes it with
``args.describe_model(...)``, or returns a fitted scikit-learn / XGBoost estimator. The work
is in :mod:`conveyor.components.trainer.executor`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.artifacts import Examples, HyperParameters, Model, ModelRun, Schema, TransformGraph
from conveyor.dsl import Channel, Component, Input, Output, Parameter
from conveyor.dsl.channel import RuntimeParameter
from conveyor.errors import ArgumentError


class Trainer(Component):
    """Trains a model with the user's ``run_fn`` and publishes it with its training records.

    When ``transform_graph`` is wired, ``examples`` are Transform's transformed examples (as in
    TFX) and the ``run_fn`` gets the tf.Transform output directory as
    ``args.transform_output``. ``hyperparameters`` (a Tuner's or hand-written
    ``best_hyperparameters.txt``) arrive as ``args.hyperparameters``; ``custom_config`` as
    ``args.custom_config``. ``seed`` seeds Python, NumPy and TensorFlow before the ``run_fn``
    runs and is ``args.seed``: same seed and data, same model.

    Outputs: ``model`` (see :mod:`conveyor.models.format`) and ``model_run`` (``metrics.json``
    per epoch and TensorBoard logs; see :mod:`conveyor.components.trainer.keras_records`).
    The last epoch's metrics become custom properties of both.
    """

    examples: Channel[Examples] = Input(description="training data (transformed, if "
                                                    "transform_graph is wired)")
    transform_graph: Channel[TransformGraph] | None = Input(
        default=None, description="tf.Transform output, for args.transform_output")
    schema: Channel[Schema] | None = Input(default=None, description="for args.schema_file")
    hyperparameters: Channel[HyperParameters] | None = Input(
        default=None, description="for args.hyperparameters")
    module_file: str | None = Parameter(
        default=None, module_file=True, description="Python file defining run_fn")
    run_fn: str = Parameter(
        default="run_fn", description="function name in module_file, or 'package.module:fn'")
    train_steps: int | None = Parameter(default=None, minimum=1, description="args.train_steps")
    eval_steps: int | None = Parameter(default=None, minimum=1, description="args.eval_steps")
    train_split: str = Parameter(default="train", description="split trained on")
    eval_split: str = Parameter(default="eval", description="split validated on")
    custom_config: dict[str, Any] = Parameter(default={}, description="args.custom_config")
    seed: int = Parameter(default=0, description="random seed")
    model: Channel[Model] = Output()
    model_run: Channel[ModelRun] = Output()
    executor = "conveyor.components.trainer.executor:run"

    if not TYPE_CHECKING:  # so type checkers keep the constructor made from the fields
        def __init__(self, *args: Any, id: str | None = None, **kwargs: Any) -> None:
            super().__init__(*args, id=id, **kwargs)
            self._check_run_fn()

    def _check_run_fn(self) -> None:
        """Refuse a ``run_fn`` that cannot be found whatever the files hold."""
        run_fn, module_file = self.parameters["run_fn"], self.parameters["module_file"]
        if isinstance(run_fn, RuntimeParameter):
            return
        where = f"Trainer '{self.id}'"
        if module_file is None and ":" not in run_fn:
            raise ArgumentError(
                f"{where}: run_fn={run_fn!r} names no module; pass module_file='model.py' "
                f"(a file defining {run_fn}) or run_fn='package.module:{run_fn}'")
        if module_file is not None and ":" in run_fn:
            raise ArgumentError(
                f"{where}: run_fn={run_fn!r} is an import path but module_file is also given; "
                f"pass either module_file with a function name or an import path alone")
