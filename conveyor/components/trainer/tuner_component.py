"""Declarations of the tuners (cheap to import: no keras-tuner, no scikit-learn).

Two ways to search, one output: a :class:`~conveyor.artifacts.HyperParameters` artifact
(``best_hyperparameters.txt`` and ``trials.json``, see
:mod:`conveyor.components.trainer.hyperparameters`) that a Trainer or EstimatorTrainer takes as
its ``hyperparameters`` input.

- :class:`Tuner` runs the user's keras-tuner search, TFX-style::

      def tuner_fn(args: TrainerArgs) -> TunerFnResult:
          tuner = keras_tuner.RandomSearch(build_model, objective="val_accuracy",
                                           max_trials=10, seed=args.seed,
                                           directory=args.working_dir, project_name="search")
          return TunerFnResult(tuner=tuner, fit_kwargs={"x": train, "validation_data": val})

      tuner = Tuner(examples=gen.outputs.examples, schema=schema.outputs.schema,
                    module_file="model.py", max_trials=4)

- :class:`EstimatorTuner` searches the parameters of a scikit-learn or XGBoost estimator
  without Keras, each trial an EstimatorTrainer fit scored on the eval split::

      tuner = EstimatorTuner(examples=gen.outputs.examples, label_key="species",
                             estimator="sklearn.ensemble.RandomForestClassifier",
                             search_space={"n_estimators": [10, 50], "max_depth": [2, 4, None]})
      trainer = EstimatorTrainer(..., hyperparameters=tuner.outputs.best_hyperparameters)
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from conveyor.artifacts import Examples, HyperParameters, Schema, TransformGraph
from conveyor.components.trainer.estimator_component import _EstimatorComponent
from conveyor.dsl import Channel, Component, Input, Output, Parameter
from conveyor.dsl.channel import RuntimeParameter
from conveyor.errors import ArgumentError, ParameterTypeError, did_you_mean

#: The metrics an EstimatorTuner can rank trials by, and whether higher is better.
METRIC_DIRECTIONS = {"accuracy": "max", "log_loss": "min", "rmse": "min", "mae": "min",
                     "r2": "max"}
#: The metrics of each task.
TASK_METRICS = {"classification": ("accuracy", "log_loss"), "regression": ("rmse", "mae", "r2")}


class Tuner(Component):
    """Runs the keras-tuner search returned by the user's ``tuner_fn`` and records the best
    hyperparameters and every trial.

    ``tuner_fn(args)`` gets a :class:`~conveyor.components.trainer.args.TrainerArgs` (data
    files, data accessor, schema, transform output, ``working_dir`` for the tuner's files,
    ``seed``, ``custom_config``) and returns a
    :class:`~conveyor.components.trainer.args.TunerFnResult`; the executor calls
    ``tuner.search(**fit_kwargs)``. ``max_trials``, when set, overrides the tuner's own. Give
    the tuner ``seed=args.seed`` so the same seed tries the same hyperparameters.
    """

    examples: Channel[Examples] = Input(description="the data: train_split and eval_split")
    schema: Channel[Schema] | None = Input(default=None, description="raw feature spec")
    transform_graph: Channel[TransformGraph] | None = Input(
        default=None, description="tf.Transform output, when examples are transformed")
    module_file: str | None = Parameter(
        default=None, module_file=True, description="Python file defining tuner_fn")
    tuner_fn: str = Parameter(
        default="tuner_fn", description="function name in module_file, or 'package.module:fn'")
    max_trials: int | None = Parameter(default=None, minimum=1,
                                       description="overrides the tuner's own")
    train_steps: int | None = Parameter(default=None, minimum=1,
                                        description="TrainerArgs.train_steps")
    eval_steps: int | None = Parameter(default=None, minimum=1,
                                       description="TrainerArgs.eval_steps")
    custom_config: dict[str, Any] = Parameter(default={}, description="TrainerArgs.custom_config")
    train_split: str = Parameter(default="train", description="split to fit on")
    eval_split: str = Parameter(default="eval", description="split to score on")
    seed: int = Parameter(default=0, description="TrainerArgs.seed and Keras' global seed")
    best_hyperparameters: Channel[HyperParameters] = Output()
    executor = "conveyor.components.trainer.tuner:search"

    if not TYPE_CHECKING:  # so type checkers keep the constructor made from the fields
        def __init__(self, *args: Any, id: str | None = None, **kwargs: Any) -> None:
            super().__init__(*args, id=id, **kwargs)
            function, module_file = self.parameters["tuner_fn"], self.parameters["module_file"]
            if isinstance(function, str) and (module_file is None) == (":" not in function):
                raise ArgumentError(
                    f"Tuner '{self.id}': give module_file='model.py' (a file defining "
                    f"{function}) or tuner_fn='package.module:function', not both or neither")


class EstimatorTuner(_EstimatorComponent):
    """Searches the parameters of a scikit-learn or XGBoost estimator: each trial fits the
    EstimatorTrainer's pipeline (same preprocessing, same seed) on ``train_split`` with
    ``estimator_params`` updated by one point of ``search_space``, and scores it on
    ``eval_split`` by ``metric``.

    ``strategy="grid"`` tries every combination in order (the first ``max_trials`` when set);
    ``"random"`` draws ``max_trials`` distinct combinations (default 10) with ``seed``. Ties go
    to the earlier trial. ``best_hyperparameters.txt`` holds the searched parameters of the
    best trial; ``trials.json`` every trial with its parameters, score and metrics.
    """

    search_space: dict[str, list[Any]] = Parameter(
        description="parameter name -> the values to try")
    strategy: Literal["grid", "random"] = Parameter(default="grid",
                                                    description="'grid' or 'random'")
    max_trials: int | None = Parameter(default=None, minimum=1,
                                       description="at most this many trials (random: 10)")
    metric: str | None = Parameter(
        default=None, description="eval metric to rank by; default accuracy or rmse")
    seed: int = Parameter(default=0, description="random_state and the random draw")
    best_hyperparameters: Channel[HyperParameters] = Output()
    executor = "conveyor.components.trainer.estimator_search:search"

    if not TYPE_CHECKING:  # so type checkers keep the constructor made from the fields
        def __init__(self, *args: Any, id: str | None = None, **kwargs: Any) -> None:
            super().__init__(*args, id=id, **kwargs)
            self._check_search()

    def _check_search(self) -> None:
        where = f"EstimatorTuner '{self.id}'"
        space = self.parameters["search_space"]
        if isinstance(space, dict):
            if not space:
                raise ParameterTypeError(f"{where} field 'search_space': empty; give at least "
                                         f"one parameter and the values to try")
            for name, values in space.items():
                if not values:
                    raise ParameterTypeError(f"{where} field 'search_space': no value to try "
                                             f"for '{name}'")
        metric, task = self.parameters["metric"], self.parameters["task"]
        if isinstance(metric, str) and not isinstance(task, RuntimeParameter):
            allowed = TASK_METRICS[task]
            if metric not in allowed:
                raise ParameterTypeError(f"{where} field 'metric': '{metric}' is not a metric "
                                         f"of task '{task}'.{did_you_mean(metric, allowed)} "
                                         f"Use one of {', '.join(allowed)}")
