"""Penguin species with scikit-learn and XGBoost, no TensorFlow model code at all:

    CsvExampleGen -> StatisticsGen -> SchemaGen -> EstimatorTuner -> EstimatorTrainer ─┐
                                                \\-> EstimatorTrainer (XGBoost)          │
    LatestBlessedModel (the forest blessed earlier) ──────────────────> Evaluator ─> Pusher

Run it with ``conveyor run conveyor/examples/penguin_sklearn.py``. The tuner grid-searches a
random forest's size and depth on the eval split; the trainer refits the best one. Both
trainers save a ``sklearn.pipeline.Pipeline`` whose first step imputes, scales and one-hot
encodes the raw columns (kinds from the inferred schema), so the model takes raw penguin rows::

    from conveyor.components.trainer.estimators import load_estimator
    model, info = load_estimator("<model uri>")
    model.predict_proba(pandas.read_csv("penguins.csv").drop(columns=["species"]))

``conveyor show <model_run id>`` prints the train and eval metrics. The forest is evaluated by
TFMA on the eval split, by island, against the last blessed forest, and when blessed pushed to a
versioned directory (``<root>/serving/penguin_forest/<version>/Format-Estimator``) with the same
atomicity and labels as a TensorFlow model.
"""
from __future__ import annotations

from conveyor import Pipeline, RuntimeParameter
from conveyor.components.evaluator import Evaluator, eval_config
from conveyor.components.examplegen import CsvExampleGen
from conveyor.components.pusher import Pusher
from conveyor.components.trainer import EstimatorTrainer, EstimatorTuner
from conveyor.components.validate import SchemaGen, StatisticsGen
from conveyor.dsl.resolver import LatestBlessedModel
from conveyor.examples.penguin_data_pipeline import penguins_dir

#: The raw columns the models use (every column of the CSV but the label).
LABEL = "species"
FOREST = "sklearn.ensemble.RandomForestClassifier"


def create_pipeline(data_dir: str | None = None, root: str = "runs") -> Pipeline:
    """The pipeline over ``data_dir`` (a directory holding ``penguins.csv``, or a
    ``RuntimeParameter``; default: the one shipped by the ``palmerpenguins`` package)."""
    example_gen = CsvExampleGen(input_base=data_dir or penguins_dir(), pattern="penguins.csv")
    statistics_gen = StatisticsGen(examples=example_gen.outputs.examples)
    schema_gen = SchemaGen(statistics=statistics_gen.outputs.statistics)
    tuner = EstimatorTuner(examples=example_gen.outputs.examples,
                           schema=schema_gen.outputs.schema, label_key=LABEL, estimator=FOREST,
                           search_space={"n_estimators": [10, 50], "max_depth": [2, 4, None]},
                           metric="log_loss")
    forest = EstimatorTrainer(examples=example_gen.outputs.examples,
                              schema=schema_gen.outputs.schema,
                              hyperparameters=tuner.outputs.best_hyperparameters,
                              label_key=LABEL, estimator=FOREST)
    boosted = EstimatorTrainer(examples=example_gen.outputs.examples,
                               schema=schema_gen.outputs.schema, label_key=LABEL,
                               estimator="xgboost.XGBClassifier",
                               estimator_params={"n_estimators": 50, "max_depth": 3,
                                                 "learning_rate": 0.3})
    boosted.with_id("xgboost_trainer")
    baseline = LatestBlessedModel(model_from=forest, blessing_from="evaluator")
    evaluator = Evaluator(
        examples=example_gen.outputs.examples, model=forest.outputs.model,
        baseline_model=baseline.outputs.model,
        eval_config=eval_config(LABEL, slices=[[], ["island"]], thresholds={
            "accuracy": {"lower_bound": 0.9, "change_absolute": -0.05}}))
    pusher = Pusher(model=forest.outputs.model, blessing=evaluator.outputs.blessing,
                    serving_dir="", model_name="penguin_forest")
    return Pipeline("penguin_sklearn", [example_gen, statistics_gen, schema_gen, tuner,
                                        forest, boosted, baseline, evaluator, pusher],
                    root=root)


pipeline = create_pipeline(RuntimeParameter("data_dir", str, default=penguins_dir(),
                                            description="directory holding penguins.csv"))
