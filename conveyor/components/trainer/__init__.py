"""Trainer for Keras, scikit-learn and XGBoost, and the Tuner (model issue).

Importing this package loads only the declarations (no TensorFlow); the run_fn contract is in
:mod:`.args`, the Keras Trainer's executor in :mod:`.executor`.
"""
from conveyor.components.trainer.component import Trainer

__all__ = ["Trainer"]
