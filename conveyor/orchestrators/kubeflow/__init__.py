"""Compile target ``kubeflow``: a Kubeflow Pipelines v2 pipeline (``PipelineSpec`` YAML).

::

    conveyor compile --target kubeflow pipeline.py -o pipeline.yaml [--kfp-image IMAGE]
        [--root gs://bucket/runs] [--kfp-metadata-secret NAME[:KEY] | --kfp-metadata-url URL]
        [--kfp-pvc CLAIM:MOUNT_PATH]

or from Python, ``compile_kubeflow(pipeline, "pipeline.yaml", image=..., pipeline_root=...)``.

How a Conveyor pipeline maps onto Kubeflow:

- **One container task per node**, running the single-node entrypoint
  (``python -m conveyor.runtime.entrypoint --ir-json IR --node ID --run-id RUN --param ...``) in
  the configured image, so a task needs nothing but the image. Tasks exchange no KFP artifacts:
  each resolves its inputs from ML Metadata in the launcher (open-source KFP runs no IR resolver
  nodes), and KFP only orders them (``dependentTasks``, from the IR's dependencies).
- **Run id**: every task gets the KFP run's UUID (``dsl.PIPELINE_JOB_ID_PLACEHOLDER`` passed as
  a task input, which KFP's driver resolves; the launcher then substitutes it into the
  arguments), so all tasks of one KFP run share one Conveyor run and a retried task rejoins it.
- **Runtime parameters** become KFP pipeline parameters of the same name, type and default (no
  default: KFP asks for a value), passed to every task as ``--param NAME=VALUE``, so a run sets
  them in the KFP UI or API without recompiling. Every task gets every parameter, as the local
  runner gives every node the whole set.
- **Caching**: KFP's own cache is off for every task, and Conveyor's launcher decides. A task KFP
  reuses from its cache does not run at all, so this run's metadata would lack the node's
  execution, and every downstream task would fail to resolve its inputs; KFP's cache key also
  ignores what Conveyor's covers (input fingerprints, code and module-file hashes). The launcher
  instead records a CACHED execution in this run reusing the earlier outputs, in about a second
  plus pod start-up. A node (or pipeline) with caching disabled gets ``--no-cache``.
- **Metadata and artifacts**: see :mod:`conveyor.orchestrators.kubeflow.plan` (the shared ML
  Metadata comes from ``$CONVEYOR_METADATA``, preferably from a secret; the pipeline root must
  be storage every task mounts at the same path).
- **A node that stops the run** (``StopRun``, entrypoint exit status 3) fails its KFP task, so
  nothing downstream runs; its outputs are published and its execution is COMPLETE in metadata.
- **Refused when compiling**, naming the node and the feature: function components defined in
  ``__main__`` (a notebook: their code cannot be in the image), node ids that Kubeflow would turn
  into one task name (``fit_a`` / ``fit-a``), runtime parameter names the kfp SDK reserves, an
  in-memory metadata store, and roots a task cannot write. Functions defined in a pipeline file
  and user module files are read at their compile-time path: build the image with them there
  (:meth:`PipelinePlan.notes` says so; the command prints it).

Compiling imports kfp (inside the functions below, never at import) but never TensorFlow, Beam,
TFDV or TFMA. The repository's ``Dockerfile`` builds the runtime image.
"""
from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from conveyor.errors import UnsupportedFeatureError
from conveyor.ir import PipelineIR, compile_pipeline
from conveyor.orchestrators.kubeflow.plan import (
    DEFAULT_IMAGE,
    KubeflowOptions,
    PipelinePlan,
    plan_pipeline,
)

if TYPE_CHECKING:
    from conveyor.dsl.pipeline import Pipeline

DESCRIPTION = "Kubeflow Pipelines v2 YAML: one container task per node, running the entrypoint"

__all__ = [
    "DEFAULT_IMAGE", "DESCRIPTION", "KubeflowOptions", "PipelinePlan", "UnsupportedFeatureError",
    "add_arguments", "compile_from_args", "compile_kubeflow",
]


def compile_kubeflow(
    pipeline: Pipeline | PipelineIR,
    output_path: str | os.PathLike[str],
    *,
    image: str = DEFAULT_IMAGE,
    pipeline_root: str | None = None,
    metadata_url: str | None = None,
    metadata_secret: str | None = None,
    pvc: str | None = None,
) -> PipelinePlan:
    """Write the Kubeflow Pipelines v2 YAML of ``pipeline`` to ``output_path`` and return the
    plan it was rendered from.

    ``image`` is what every task runs; ``pipeline_root`` overrides the pipeline's root
    (``gs://``, ``s3://``, ``minio://`` or an absolute path on a shared volume);
    ``metadata_url`` is set as ``CONVEYOR_METADATA`` on every task, or ``metadata_secret``
    (``NAME[:KEY]``, key ``url`` by default) takes it from a Kubernetes secret; ``pvc``
    (``CLAIM:MOUNT_PATH``) mounts a PersistentVolumeClaim in every task. Raises
    :class:`UnsupportedFeatureError` for what Kubeflow cannot run (see the module docstring).
    """
    ir = pipeline if isinstance(pipeline, PipelineIR) else compile_pipeline(pipeline)
    plan = plan_pipeline(ir, KubeflowOptions(image=image, pipeline_root=pipeline_root,
                                             metadata_url=metadata_url,
                                             metadata_secret=metadata_secret, pvc=pvc))
    from conveyor.orchestrators.kubeflow.compiler import write_pipeline

    write_pipeline(plan, os.fspath(output_path))
    return plan


def add_arguments(group: argparse._ArgumentGroup) -> None:
    """Options of ``conveyor compile --target kubeflow`` (the pipeline root is ``--root``)."""
    group.add_argument("--kfp-image", default=DEFAULT_IMAGE, metavar="IMAGE",
                       help=f"image every task runs (default: {DEFAULT_IMAGE})")
    group.add_argument("--kfp-metadata-url", metavar="URL",
                       help="set CONVEYOR_METADATA on every task (visible in the YAML)")
    group.add_argument("--kfp-metadata-secret", metavar="NAME[:KEY]",
                       help="take CONVEYOR_METADATA from this Kubernetes secret (key: url)")
    group.add_argument("--kfp-pvc", metavar="CLAIM:MOUNT_PATH",
                       help="mount this PersistentVolumeClaim in every task")


def compile_from_args(ir: PipelineIR, output: str, args: argparse.Namespace) -> None:
    """Compile ``ir`` for Kubeflow with the command's options and write it to ``output``."""
    plan = compile_kubeflow(ir, output, image=args.kfp_image,
                            metadata_url=args.kfp_metadata_url,
                            metadata_secret=args.kfp_metadata_secret, pvc=args.kfp_pvc)
    for note in plan.notes():
        print(f"note: {note}")
