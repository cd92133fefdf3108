"""What a Model artifact holds, for every framework: the contract between Trainer (which writes
models), Evaluator and InfraValidator (which load and query them) and Pusher (which ships them).

:mod:`.format` is pure Python (file names, :class:`ModelInfo`); :mod:`.predict` loads a model and
computes predictions, importing TensorFlow or joblib only when called.
"""
from conveyor.models.format import (
    ESTIMATOR_DIR,
    MODEL_INFO_FILE,
    SERVING_DIR,
    ModelInfo,
    read_model_info,
    write_model_info,
)

__all__ = ["ESTIMATOR_DIR", "MODEL_INFO_FILE", "SERVING_DIR", "ModelInfo", "read_model_info",
           "write_model_info"]
