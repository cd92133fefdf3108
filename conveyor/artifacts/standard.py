"""The standard artifact types, named as TFX names them in ML Metadata.

Each docstring documents the files under ``uri``; the layouts follow TFX where TFX defines one,
so that TFX tooling can read Conveyor's outputs and the other way round.
"""
from __future__ import annotations

import os

from conveyor.artifacts.base import Artifact


class _SplitArtifact(Artifact):
    """An artifact holding one sub-directory per split, ``Split-<name>/``."""

    def split_uri(self, split: str) -> str:
        """The directory of ``split`` under this artifact."""
        return os.path.join(self.uri, f"Split-{split}")


class Examples(_SplitArtifact):
    """Rows of data, split into named splits.

    Layout::

        {uri}/Split-{name}/data_*.gz          gzipped TFRecords of serialized tf.train.Example
        {uri}/Split-{name}/data_*.parquet     (instead, when Parquet output was chosen)

    Properties: ``span`` (int, the input span), ``version`` (int, the input version) and
    ``split_names`` (list of str, stored as a JSON string as TFX does). ExampleGen also sets the
    custom property ``feature_kinds`` (JSON: feature name -> ``int``, ``float``, ``bytes`` or
    ``list<...>``) when it encoded the records itself; a flat kind promises one value or, when
    missing, a feature with no value kind per record, which lets readers parse the records with
    TensorFlow's parser (``conveyor.data.tf_parsing``).
    """

    TYPE_NAME = "Examples"
    BASE_TYPE = "DATASET"
    PROPERTIES = {"span": int, "version": int, "split_names": list}


class ExampleStatistics(_SplitArtifact):
    """TFDV statistics of an Examples artifact.

    Layout::

        {uri}/Split-{name}/FeatureStats.pb    binary DatasetFeatureStatisticsList
        {uri}/Split-{name}/stats.html         TFDV's visualisation, viewable offline

    Custom properties set by StatisticsGen: ``engine`` (``in_process`` or ``beam``) and
    ``decoder`` (how records were read: ``tensorflow``, ``tfx_bsl``, ``parquet`` or ``tfxio``).
    """

    TYPE_NAME = "ExampleStatistics"
    BASE_TYPE = "STATISTICS"
    PROPERTIES = {"span": int, "split_names": list}


class Schema(Artifact):
    """A tensorflow_metadata Schema.

    Layout::

        {uri}/schema.pbtxt                    text-format tensorflow.metadata.v0.Schema
    """

    TYPE_NAME = "Schema"


class ExampleAnomalies(_SplitArtifact):
    """TFDV anomalies found by validating statistics against a schema.

    Layout::

        {uri}/Split-{name}/SchemaDiff.pb      binary tensorflow.metadata.v0.Anomalies
    """

    TYPE_NAME = "ExampleAnomalies"
    PROPERTIES = {"span": int, "split_names": list}


class TransformGraph(Artifact):
    """The output directory of tf.Transform.

    Layout::

        {uri}/transform_fn/                   SavedModel applying the preprocessing
        {uri}/transform_fn/assets/{name}      vocabulary files, one token a line
        {uri}/transformed_metadata/           schema of the transformed features
        {uri}/metadata/schema.pbtxt           schema of the raw features (as TFX writes it)

    Read it with ``tft.TFTransformOutput(uri)``. Custom properties (set by Transform):
    ``analyze_splits``, ``analyzed_datasets`` (dataset keys read for analysis) and
    ``cached_datasets`` (dataset keys whose analysis came from the analyzer cache), JSON lists.
    """

    TYPE_NAME = "TransformGraph"


class TransformCache(Artifact):
    """tf.Transform's analyzer cache: the accumulators of every analyzer, per analysed dataset,
    so that a later Transform over the same datasets (e.g. the earlier spans of a window) reads
    only the new ones. Written by ``tft_beam.analyzer_cache.WriteAnalysisCacheToFS``.

    Layout::

        {uri}/{dataset key}/MANIFEST          cache entry key -> entry index (pickled dict)
        {uri}/{dataset key}/{index}-*-of-*    gzipped TFRecords of encoded accumulators
        {uri}/{dataset key}/METADATA-*        the dataset's size when it was analysed

    A dataset key is ``<split>-span<span>-v<version>-<digest>``, the digest a SHA-256 of the
    split's data files (so new or changed data never hits an old entry). Custom property
    ``dataset_keys``: JSON list of the keys held.
    """

    TYPE_NAME = "TransformCache"


class Model(Artifact):
    """A trained model; the contract is in :mod:`conveyor.models.format`.

    Layout::

        {uri}/model_info.json                 framework, task, label, classes, raw input features
        {uri}/Format-Serving/                 TensorFlow SavedModel with a serving_default signature
        {uri}/Format-Estimator/model.joblib   (scikit-learn / XGBoost) the fitted pipeline,
                                              preprocessing included, taking raw features
        {uri}/Format-Estimator/booster.ubj    (XGBoost) the booster in XGBoost's own format
        {uri}/Format-Keras/model.keras        (optional, Keras run_fns) the model without the
                                              transform graph, taking transformed features

    Custom properties (from the Trainer): the last epoch's metrics (``loss``, ``val_loss``,
    ...), ``train_seconds`` and ``examples_span``.
    """

    TYPE_NAME = "Model"
    BASE_TYPE = "MODEL"


class ModelRun(Artifact):
    """Records of one training run (see :mod:`conveyor.components.trainer.run_records`).

    Layout::

        {uri}/metrics.json                    {"epochs": [{"epoch": 1, "loss": ...,
                                              "val_loss": ..., ...}, ...]} in training order
        {uri}/logs/                           TensorBoard event files (Keras: train/, validation/)

    Custom properties: the last epoch's metrics and ``train_seconds``.
    """

    TYPE_NAME = "ModelRun"


class ModelEvaluation(Artifact):
    """A TFMA evaluation, readable by ``tfma.load_eval_result(uri)`` (with a baseline, pass
    ``model_name="candidate"`` or ``"baseline"``).

    Layout::

        {uri}/metrics-*.tfrecord              TFMA's MetricsForSlice, per slice and model
        {uri}/plots-*.tfrecord                TFMA's PlotsForSlice (confusion matrices, ...)
        {uri}/validations.tfrecord            TFMA's ValidationResult: the thresholds' verdict
        {uri}/attributions-*.tfrecord         TFMA's (empty) attributions
        {uri}/eval_config.json                the EvalConfig TFMA ran, as completed by the
                                              Evaluator (its own label/prediction columns)
        {uri}/slices.json                     per slice: metrics of both models, failures;
                                              worst slice first (read by the views)
        {uri}/report.html, {uri}/slices.png   the per-slice report: table and bar plot

    Custom properties: ``main_metric`` (the one slices are ranked by), ``slices`` (count) and a
    one-line ``summary`` naming the worst slice.
    """

    TYPE_NAME = "ModelEvaluation"
    BASE_TYPE = "METRICS"


class ModelBlessing(Artifact):
    """The verdict of an evaluation against thresholds.

    Layout::

        {uri}/BLESSED  or  {uri}/NOT_BLESSED  an empty file naming the verdict

    Custom properties (as TFX): ``blessed`` (1 or 0), ``current_model`` and
    ``current_model_id``, ``baseline_model`` and ``baseline_model_id`` (``""`` and -1 without a
    baseline), and ``reason``: one line per failed threshold (metric, class, slice, values), or
    that all passed, or "no thresholds configured: blessed by default"; plus notes such as
    "no baseline model (none blessed yet): change thresholds skipped".
    """

    TYPE_NAME = "ModelBlessing"


class InfraBlessing(Artifact):
    """The verdict of loading a model as a server would and querying it.

    Layout::

        {uri}/INFRA_BLESSED  or  {uri}/INFRA_NOT_BLESSED
        {uri}/latency.json                    requests, examples_per_request, p50_ms, p99_ms,
                                              mean_ms, max_ms, load_s, protocol

    Custom properties: ``blessed`` (1 or 0), ``reason`` (why not; empty when blessed), and
    ``p50_ms`` / ``p99_ms`` when requests were answered.
    """

    TYPE_NAME = "InfraBlessing"


class PushedModel(Artifact):
    """A record of a model pushed to a serving destination.

    Layout: ``{uri}`` is empty; the model lives at the destination. Custom properties (as TFX):
    ``pushed`` (1 or 0), ``pushed_destination`` (the version directory), ``pushed_version``
    (int), ``labels`` (JSON list, e.g. ``["stable"]``) and ``serving_dir``; or, not pushed,
    ``reason``.
    """

    TYPE_NAME = "PushedModel"
    BASE_TYPE = "MODEL"


class HyperParameters(Artifact):
    """Hyperparameters chosen by a tuner or given by hand; the files are read and written by
    :mod:`conveyor.components.trainer.hyperparameters`.

    Layout::

        {uri}/best_hyperparameters.txt        JSON object of hyperparameter name -> value
        {uri}/trials.json                     (from a tuner) {"metric", "direction",
                                              "best_trial", "trials": [{"trial", "status",
                                              "hyperparameters", "score", "metrics"}]}

    Custom properties (from a tuner): ``metric``, ``best_score``, ``trials``.
    """

    TYPE_NAME = "HyperParameters"
