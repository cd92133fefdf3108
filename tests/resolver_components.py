"""A trainer of a chosen quality and an evaluator blessing good models as the Evaluator writes a
blessing: the fast stand-ins of the resolver tests. Self-contained (Conveyor imports only), so
that a Kubeflow task, which has no tests directory on its path, loads it from its file."""
from __future__ import annotations

import os

from conveyor import In, Out, component
from conveyor.artifacts import Model, ModelBlessing


def quality_of(model: Model) -> int:
    """The quality :func:`train` wrote into ``model``."""
    with open(os.path.join(model.uri, "quality.txt"), encoding="utf-8") as f:
        return int(f.read())


@component
def train(model: Out[Model], quality: int = 1) -> None:
    """A "model" of the given quality."""
    with open(os.path.join(model.uri, "quality.txt"), "w", encoding="utf-8") as f:
        f.write(str(quality))


@component
def judge(model: In[Model], blessing: Out[ModelBlessing],
          baseline: In[Model] = None,  # type: ignore[assignment]
          bar: int = 3) -> None:
    """Bless a model whose quality reaches ``bar`` (custom properties ``blessed`` and
    ``current_model_id``, as the Evaluator writes them); record the baseline it was given."""
    blessed = quality_of(model) >= bar
    open(os.path.join(blessing.uri, "BLESSED" if blessed else "NOT_BLESSED"), "w").close()
    blessing.custom_properties.update(blessed=int(blessed), current_model_id=model.id or 0)
    with open(os.path.join(blessing.uri, "baseline.txt"), "w", encoding="utf-8") as f:
        f.write("none" if baseline is None else str(baseline.id))
