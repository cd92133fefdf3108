"""Standard components, all under one import as TFX users write them::

    from conveyor.components import (CsvExampleGen, StatisticsGen, SchemaGen, ExampleValidator,
                                     Transform, Trainer, Evaluator, InfraValidator, Pusher)

Each folder holds ``component.py`` (the declaration, cheap to import) and ``executor.py`` (the
work, which may import TensorFlow, TFDV, TFMA or Beam). Importing this package loads only the
declarations: about 15 ms, and none of those libraries. Helpers that belong to one component
(``eval_config``, ``TrainerArgs``, ...) are imported from its folder.
"""
from conveyor.components.evaluator import Evaluator
from conveyor.components.examplegen import (
    CsvExampleGen,
    ImportExampleGen,
    ParquetExampleGen,
    QueryExampleGen,
)
from conveyor.components.pusher import InfraValidator, Pusher
from conveyor.components.trainer import EstimatorTrainer, EstimatorTuner, Trainer, Tuner
from conveyor.components.transform import Transform
from conveyor.components.validate import (
    ExampleValidator,
    ImportSchemaGen,
    SchemaGen,
    StatisticsGen,
)

__all__ = [
    "CsvExampleGen", "EstimatorTrainer", "EstimatorTuner", "Evaluator", "ExampleValidator",
    "ImportExampleGen", "ImportSchemaGen", "InfraValidator", "ParquetExampleGen", "Pusher",
    "QueryExampleGen", "SchemaGen", "StatisticsGen", "Trainer", "Transform", "Tuner",
]
