"""Executor of :class:`~conveyor.components.trainer.tuner_component.EstimatorTuner`: grid or
random search over an estimator's parameters, each trial fitted and scored exactly as
EstimatorTrainer fits (:func:`conveyor.components.trainer.estimator_fit.fit`)."""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from typing import Any

from conveyor.artifacts import Examples, HyperParameters, Schema
from conveyor.components.trainer.estimator_build import import_estimator
from conveyor.components.trainer.estimator_fit import fit, load_training_data
from conveyor.components.trainer.hyperparameters import write_hyperparameters
from conveyor.components.trainer.tuner_component import METRIC_DIRECTIONS, TASK_METRICS
from conveyor.data.layout import split_names
from conveyor.dsl.context import ExecutionContext
from conveyor.errors import ExecutionError
from conveyor.models.format import Task

#: Trials drawn by the random strategy when max_trials is not set.
DEFAULT_RANDOM_TRIALS = 10


def candidates(space: Mapping[str, list[Any]], strategy: str, max_trials: int | None,
               seed: int) -> list[dict[str, Any]]:
    """The points of ``space`` to try, in trial order: every combination (grid, parameters
    varying last-fastest in the order given) or ``max_trials`` distinct ones drawn with
    ``seed`` (random). The same arguments always give the same list."""
    names = list(space)
    sizes = [len(space[n]) for n in names]
    total = math.prod(sizes)

    def point(index: int) -> dict[str, Any]:
        chosen = {}
        for name, size in zip(reversed(names), reversed(sizes), strict=True):
            index, position = divmod(index, size)
            chosen[name] = space[name][position]
        return {n: chosen[n] for n in names}

    if strategy == "grid":
        return [point(i) for i in itertools.islice(range(total), max_trials)]
    import numpy as np

    count = min(total, max_trials or DEFAULT_RANDOM_TRIALS)
    rng = np.random.default_rng(seed)
    return [point(int(i)) for i in _distinct(rng, total, count)]


def _distinct(rng: Any, total: int, count: int) -> Iterator[int]:
    """``count`` distinct indices below ``total``, drawn without listing all of them."""
    if total <= 1_000_000:
        yield from rng.permutation(total)[:count]
        return
    seen: set[int] = set()
    while len(seen) < count:
        index = int(rng.integers(total))
        if index not in seen:
            seen.add(index)
            yield index


def search(*, examples: Examples, label_key: str, estimator: str,
           search_space: dict[str, list[Any]], estimator_params: dict[str, Any], strategy: str,
           max_trials: int | None, metric: str | None, task: Task,
           features: list[str] | None, train_split: str, eval_split: str, seed: int,
           best_hyperparameters: HyperParameters, context: ExecutionContext,
           schema: Schema | None = None) -> None:
    """Executor of EstimatorTuner: run the trials and write the best point and every trial."""
    where = f"EstimatorTuner '{context.node_id}'"
    cls = import_estimator(estimator, f"{where} field 'estimator'")
    metric = metric or TASK_METRICS[task][0]
    direction = METRIC_DIRECTIONS[metric]
    data = load_training_data(examples.uri, split_names(examples),
                              schema_uri=schema.uri if schema is not None else None,
                              label_key=label_key, features=features, task=task,
                              train_split=train_split, eval_split=eval_split, where=where)
    trials: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    for number, point in enumerate(candidates(search_space, strategy, max_trials, seed)):
        trial: dict[str, Any] = {"trial": str(number), "hyperparameters": point}
        try:
            result = fit(data, cls, {**estimator_params, **point}, seed,
                         f"{where} trial {number} {point}")
        except ExecutionError as err:  # the estimator refused this point; others may do
            trial.update(status="FAILED", score=None, error=str(err))
            context.logger.warning("trial %d failed: %s", number, err)
            trials.append(trial)
            continue
        score = result.metrics["eval"][metric]
        trial.update(status="COMPLETED", score=score, metrics=result.metrics,
                     fit_seconds=result.fit_seconds)
        trials.append(trial)
        context.logger.info("trial %d %s: eval %s %.4f", number, point, metric, score)
        if best is None or _better(score, best["score"], direction):
            best = trial
    if best is None:
        raise ExecutionError(f"{where}: every one of the {len(trials)} trials failed; the "
                             f"first: {trials[0]['error']}")
    write_hyperparameters(best_hyperparameters.uri, best["hyperparameters"], trials,
                          metric=f"val_{metric}", direction=direction,
                          best_trial=best["trial"])
    best_hyperparameters.custom_properties.update(
        {"metric": f"val_{metric}", "best_score": best["score"], "trials": len(trials),
         "summary": f"best {best['hyperparameters']} eval {metric} {best['score']:.4f}"})


def _better(score: float, incumbent: float, direction: str) -> bool:
    return score > incumbent if direction == "max" else score < incumbent
