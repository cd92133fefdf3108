"""Trainer for Keras, scikit-learn and XGBoost, and the Tuner (model issue).

Importing this package loads only the declarations (no TensorFlow, scikit-learn or XGBoost); the
run_fn contract is in :mod:`.args`, the Keras Trainer's executor in :mod:`.executor`, built-in
scikit-learn / XGBoost training in :mod:`.estimators`, the tuners' executors in :mod:`.tuner`
and :mod:`.estimator_search`.
"""
from conveyor.components.trainer.args import TrainerArgs, TunerFnResult
from conveyor.components.trainer.component import Trainer
from conveyor.components.trainer.estimator_component import EstimatorTrainer
from conveyor.components.trainer.tuner_component import EstimatorTuner, Tuner

__all__ = ["EstimatorTrainer", "EstimatorTuner", "Trainer", "TrainerArgs", "Tuner",
           "TunerFnResult"]
