"""The Transform declaration (cheap to import: no TensorFlow, no tf.Transform, no Beam).

::

    transform = Transform(
        examples=example_gen.outputs.examples,
        schema=schema_gen.outputs.schema,
        module_file="preprocessing.py",          # defines preprocessing_fn(inputs) -> dict
        splits_config={"analyze": ["train"]},    # the default; "transform": every split
    )
    trainer = Trainer(examples=transform.outputs.transformed_examples,
                      transform_graph=transform.outputs.transform_graph, ...)

The work is in :mod:`conveyor.components.transform.executor`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from conveyor.artifacts import Examples, Schema, TransformCache, TransformGraph
from conveyor.dsl import Channel, Component, Input, Output, Parameter
from conveyor.dsl.channel import RuntimeParameter
from conveyor.errors import ParameterTypeError, did_you_mean

#: The keys ``splits_config`` takes, as TFX's ``SplitsConfig``.
SPLITS_CONFIG_KEYS = ("analyze", "transform")


class Transform(Component):
    """Preprocesses Examples with the user's tf.Transform ``preprocessing_fn``.

    Full-pass analyzers (``tft.scale_to_z_score``, ``tft.compute_and_apply_vocabulary``,
    ``tft.bucketize``, ...) run on Beam over the ``analyze`` splits (default ``["train"]``);
    every ``transform`` split (default: all) is then transformed. Outputs:

    - ``transform_graph``: the tf.Transform output directory, readable by
      ``tft.TFTransformOutput(uri)``; a Trainer bakes it into the served model;
    - ``transformed_examples``: gzipped TFRecords of transformed tf.Examples under
      ``Split-<name>/``, as ExampleGen writes raw ones (same ``span``/``version``);
    - ``updated_analyzer_cache``: the analyzers' accumulators per analysed dataset. Wire it
      into the next Transform's ``analyzer_cache`` and datasets analysed before (e.g. the
      earlier spans of a window) are not read again.

    The function comes from ``module_file`` (a Python file, whose content is part of the cache
    key; ``preprocessing_fn`` names the function in it, default ``"preprocessing_fn"``) or from
    ``preprocessing_fn="package.module:function"``. A function with a ``custom_config``
    parameter receives ``custom_config``.
    """

    examples: Channel[Examples] = Input(
        many=True, description="raw data; several artifacts (e.g. spans) are analysed together")
    schema: Channel[Schema] = Input(description="schema of the raw data")
    analyzer_cache: Channel[TransformCache] | None = Input(
        default=None, description="an earlier Transform's updated_analyzer_cache")
    module_file: str | None = Parameter(
        default=None, module_file=True, description="Python file defining preprocessing_fn")
    preprocessing_fn: str | None = Parameter(
        default=None, description="function name in module_file, or 'package.module:function'")
    splits_config: dict[str, list[str]] | None = Parameter(
        default=None, description="{'analyze': [...], 'transform': [...]}")
    custom_config: dict[str, Any] = Parameter(
        default={}, description="passed to preprocessing_fn(inputs, custom_config)")
    transform_graph: Channel[TransformGraph] = Output()
    transformed_examples: Channel[Examples] = Output()
    updated_analyzer_cache: Channel[TransformCache] = Output()
    executor = "conveyor.components.transform.executor:run"

    if not TYPE_CHECKING:  # so type checkers keep the constructor made from the fields
        def __init__(self, *args: Any, id: str | None = None, **kwargs: Any) -> None:
            super().__init__(*args, id=id, **kwargs)
            self._check_parameters()

    def _check_parameters(self) -> None:
        where = f"Transform '{self.id}'"
        module_file, function = self.parameters["module_file"], self.parameters[
            "preprocessing_fn"]
        if module_file is None and not (isinstance(function, str) and ":" in function):
            if not isinstance(function, RuntimeParameter):
                raise ParameterTypeError(
                    f"{where}: give module_file='preprocessing.py' or "
                    f"preprocessing_fn='package.module:function'")
        if isinstance(module_file, str) and isinstance(function, str) and ":" in function:
            raise ParameterTypeError(
                f"{where}: preprocessing_fn '{function}' is an import path, but module_file is "
                f"set too; give the function's name in the module file, or drop module_file")
        config = self.parameters["splits_config"]
        if isinstance(config, dict):
            for key, splits in config.items():
                if key not in SPLITS_CONFIG_KEYS:
                    raise ParameterTypeError(
                        f"{where}: splits_config has unknown key '{key}'."
                        f"{did_you_mean(key, SPLITS_CONFIG_KEYS)} Use "
                        f"{' and '.join(SPLITS_CONFIG_KEYS)}")
                if key == "analyze" and not splits:
                    raise ParameterTypeError(f"{where}: splits_config['analyze'] is empty; "
                                             f"name at least one split to analyse")
