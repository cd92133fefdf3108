"""The whole penguin pipeline, from the Palmer penguins CSV to a versioned TensorFlow Serving
directory::

    CsvExampleGen ─ StatisticsGen ─ SchemaGen ─ ExampleValidator
          │                            │              │ (Transform waits for it)
          │                            └──── Transform ─ Trainer (Keras) ─┬─ InfraValidator ─┐
          │      LatestBlessedModel (the baseline, from earlier runs) ─┐  │                  │
          └────────────────────────────────────────────────────── Evaluator ─────────── Pusher

``make run`` runs it (``conveyor run conveyor/examples/penguin_pipeline.py --root runs``). The
first run has no blessed model yet, so the Evaluator judges the model on its value thresholds
alone and the Pusher writes version 1 under ``serving_dir`` (default ``<root>/serving/penguin``)
as ``stable``. A later run whose model is worse than the last blessed one (accuracy more than 5
points below it, overall or for any island) is not blessed and not pushed; the blessing names
the failing metric and slice (``conveyor show <blessing id>``).

Runtime parameters: ``data_dir`` (a directory holding ``penguins.csv``), ``train_steps``,
``serving_dir`` (empty: ``<root>/serving/penguin``) and ``canary`` (push the new version as
``canary`` beside ``stable``; ``conveyor promote penguin --serving-dir ...`` makes it stable).

A second run on the same data re-runs only the Evaluator and the Pusher: the model the first
run blessed is now the baseline (the same model, so the Pusher keeps serving its version);
from the third run on, every node is reused.
"""
from __future__ import annotations

import os

from conveyor import Pipeline, RuntimeParameter
from conveyor.components import (
    CsvExampleGen,
    Evaluator,
    ExampleValidator,
    InfraValidator,
    Pusher,
    SchemaGen,
    StatisticsGen,
    Trainer,
    Transform,
)
from conveyor.components.evaluator import eval_config
from conveyor.dsl.resolver import LatestBlessedModel
from conveyor.examples.penguin_data_pipeline import penguins_dir

HERE = os.path.dirname(os.path.abspath(__file__))

data_dir = RuntimeParameter("data_dir", str, default=penguins_dir(),
                            description="directory holding penguins.csv")
train_steps = RuntimeParameter("train_steps", int, default=300,
                               description="training steps of the Keras model")
serving_dir = RuntimeParameter("serving_dir", str, default="",
                               description="TF Serving model base path "
                                           "(empty: <root>/serving/penguin)")
canary = RuntimeParameter("canary", bool, default=False,
                          description="push as the canary version (then: conveyor promote)")

example_gen = CsvExampleGen(input_base=data_dir, pattern="penguins.csv")
statistics_gen = StatisticsGen(examples=example_gen.outputs.examples)
schema_gen = SchemaGen(statistics=statistics_gen.outputs.statistics)
example_validator = ExampleValidator(statistics=statistics_gen.outputs.statistics,
                                     schema=schema_gen.outputs.schema)
transform = Transform(examples=example_gen.outputs.examples, schema=schema_gen.outputs.schema,
                      module_file=os.path.join(HERE, "penguin_preprocessing.py"),
                      ).after(example_validator)
trainer = Trainer(examples=transform.outputs.transformed_examples,
                  transform_graph=transform.outputs.transform_graph,
                  schema=schema_gen.outputs.schema,
                  module_file=os.path.join(HERE, "penguin_keras.py"),
                  train_steps=train_steps, eval_steps=5, seed=7)
baseline = LatestBlessedModel(model_from="trainer", blessing_from="evaluator")
evaluator = Evaluator(
    examples=example_gen.outputs.examples, model=trainer.outputs.model,
    baseline_model=baseline.outputs.model,
    eval_config=eval_config(
        "species", slices=[[], ["island"], ["sex"], ["island", "sex"]],
        thresholds={"accuracy": {"lower_bound": 0.8, "change_absolute": -0.05}}))
infra_validator = InfraValidator(model=trainer.outputs.model,
                                 examples=example_gen.outputs.examples, num_requests=20)
pusher = Pusher(model=trainer.outputs.model, blessing=evaluator.outputs.blessing,
                infra_blessing=infra_validator.outputs.blessing,
                serving_dir=serving_dir, model_name="penguin", canary=canary)

pipeline = Pipeline("penguin",
                    [example_gen, statistics_gen, schema_gen, example_validator, transform,
                     trainer, baseline, evaluator, infra_validator, pusher], root="runs")
