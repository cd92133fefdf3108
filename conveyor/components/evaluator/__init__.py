"""The Evaluator on TFMA: slice analysis and a blessing gate.

Importing this package loads only the declaration and the pure-Python config builder (no TFMA,
TensorFlow or Beam); :mod:`.executor` imports those when a node runs, :mod:`.report` writes the
per-slice report and :mod:`.views` renders evaluations and blessings for the CLI and notebooks.
"""
from conveyor.components.evaluator.component import Evaluator
from conveyor.components.evaluator.config import METRICS, eval_config, threshold

__all__ = ["METRICS", "Evaluator", "eval_config", "threshold"]
