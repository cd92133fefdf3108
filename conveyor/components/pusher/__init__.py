"""InfraValidator and Pusher: check that a model loads and answers as a server would, then push
it to a versioned TensorFlow Serving model base path with ``stable`` / ``canary`` labels.

Importing this package loads only the declarations; the executors (:mod:`.infra`,
:mod:`.executor`) import TensorFlow, gRPC and tensorflow-serving-api when a node runs.
``conveyor rollback`` and ``conveyor promote`` use :mod:`.labels`.
"""
from conveyor.components.pusher.component import InfraValidator, Pusher

__all__ = ["InfraValidator", "Pusher"]
