"""Reading TFMA's output back: per-slice metrics of each model, the verdict, the summary the
report shows (TFMA imported by the caller)."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conveyor.components.evaluator import verdict
from conveyor.components.evaluator.config import thresholded_metrics
from conveyor.components.evaluator.report import SliceRow, Summary, sort_worst_first
from conveyor.components.evaluator.tfma_config import main_metric
from conveyor.models.format import ModelInfo

#: TFMA's model names with a baseline (``tfma.CANDIDATE_KEY``, ``tfma.BASELINE_KEY``).
CANDIDATE_NAME, BASELINE_NAME = "candidate", "baseline"


def slice_metrics(tfma: Any, uri: str, model_name: str | None,
                   classes: Sequence[str] | None) -> dict[str, dict[str, float | None]]:
    """Slice name -> metric label -> value, from TFMA's output for one model."""
    from tensorflow_model_analysis.proto import metrics_for_slice_pb2

    result = tfma.load_eval_result(uri, model_name=model_name)
    table: dict[str, dict[str, float | None]] = {}
    for slice_key, by_output in result.slicing_metrics:
        name = verdict.slice_name(slice_key)
        row = table.setdefault(name, {})
        for by_sub_key in by_output.values():
            for sub_key_text, metrics in by_sub_key.items():
                sub_key = None
                if sub_key_text.startswith("classId:"):
                    sub_key = metrics_for_slice_pb2.SubKey()
                    sub_key.class_id.value = int(sub_key_text.split(":", 1)[1])
                for metric, value in metrics.items():
                    if metric.endswith("_diff"):
                        continue
                    row[verdict.metric_label(metric, sub_key, classes)] = verdict.finite(value)
    return table




def summarize(tfma: Any, proto: Any, uri: str, info: ModelInfo, notes: Sequence[str], *,
              model: str, baseline: str | None) -> Summary:
    """The evaluation TFMA wrote at ``uri`` with config ``proto``, as the report shows it:
    both models' metrics per slice, the failed thresholds, the verdict and its reason."""
    from google.protobuf import json_format

    config = json_format.MessageToDict(proto)
    candidate_metrics = slice_metrics(tfma, uri, CANDIDATE_NAME if baseline else None,
                                      info.classes)
    baseline_metrics = (slice_metrics(tfma, uri, BASELINE_NAME, info.classes)
                        if baseline else {})
    validation = tfma.load_validation_result(uri)
    found = verdict.failures(validation, info.classes, candidate_metrics, baseline_metrics)
    blessed, reason = verdict.reason(validation, found,
                                     thresholds=len(thresholded_metrics(config)), notes=notes)
    columns = list(dict.fromkeys(k for row in candidate_metrics.values() for k in row))
    main, higher, bound = main_metric(config, columns)
    first = [c for c in ("example_count", main) if c in columns]
    columns = list(dict.fromkeys([*first, *columns]))
    rows = [SliceRow(slice=s, metrics=m, baseline=baseline_metrics.get(s, {}),
                     failures=[f.describe() for f in found if f.slice == s])
            for s, m in candidate_metrics.items()]
    return Summary(main_metric=main, higher_is_better=higher, columns=columns,
                   rows=sort_worst_first(rows, main, higher), blessed=blessed, reason=reason,
                   model=model, baseline_model=baseline or "", main_bound=bound)
