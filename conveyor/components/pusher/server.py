"""Talking to a running TensorFlow Serving through its gRPC ``ModelService``.

``HandleReloadConfigRequest`` replaces the server's whole model config; ``GetModelStatus`` says
whether a version is loading, AVAILABLE, or ended with an error. TensorFlow Serving only accepts
a label on a version it has loaded (unless started with
``--allow_version_labels_for_unavailable_models``), so a push sends the new version unlabelled
first, waits for it, then sends the labels: see :func:`apply`.

The ``tensorflow_serving.apis`` modules import TensorFlow (about 4 s), so this module is only
imported when a server address is given.
"""
from __future__ import annotations

import time

import grpc
from tensorflow_serving.apis import (
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
)
from tensorflow_serving.config import model_server_config_pb2

from conveyor.components.pusher.model_config import ServingState
from conveyor.errors import ExecutionError

AVAILABLE = get_model_status_pb2.ModelVersionStatus.State.AVAILABLE
END = get_model_status_pb2.ModelVersionStatus.State.END
_POLL_S = 0.2


class ModelServer:
    """A client of one server's ``ModelService`` (``host:port``)."""

    def __init__(self, address: str, timeout_s: float = 60.0) -> None:
        self.address = address
        self.timeout_s = timeout_s
        self._channel = grpc.insecure_channel(address)
        self._stub = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def close(self) -> None:
        """Close the gRPC channel."""
        self._channel.close()

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reload(self, config: model_server_config_pb2.ModelServerConfig) -> None:
        """Send the whole config; ExecutionError when the server is unreachable or refuses it."""
        request = model_management_pb2.ReloadConfigRequest(config=config)
        try:
            response = self._stub.HandleReloadConfigRequest(request, timeout=self.timeout_s)
        except grpc.RpcError as err:
            raise self._rpc_error("HandleReloadConfigRequest", err) from err
        if response.status.error_code != 0:
            raise ExecutionError(f"TensorFlow Serving at {self.address} refused the model config "
                                 f"(error {response.status.error_code}): "
                                 f"{response.status.error_message}")

    def wait_available(self, name: str, version: int) -> None:
        """Poll ``GetModelStatus`` until ``version`` of ``name`` is AVAILABLE; ExecutionError
        when it fails to load or ``timeout_s`` passes first."""
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = name
        request.model_spec.version.value = version
        deadline = time.monotonic() + self.timeout_s
        last = "no answer yet"
        while True:
            try:
                response = self._stub.GetModelStatus(request, timeout=self.timeout_s)
                states = {s.version: s for s in response.model_version_status}
                status = states.get(version)
                if status is not None and status.state == AVAILABLE:
                    return
                if status is not None and status.state == END and status.status.error_code:
                    raise ExecutionError(
                        f"TensorFlow Serving at {self.address} failed to load model '{name}' "
                        f"version {version}: {status.status.error_message}")
                last = ("state " + get_model_status_pb2.ModelVersionStatus.State.Name(
                    status.state)) if status is not None else "version not listed"
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.NOT_FOUND:
                    raise self._rpc_error("GetModelStatus", err) from err
                last = f"NOT_FOUND: {err.details()}"
            if time.monotonic() >= deadline:
                raise ExecutionError(
                    f"TensorFlow Serving at {self.address} did not report model '{name}' "
                    f"version {version} AVAILABLE within {self.timeout_s:g} s ({last}); check "
                    f"the server's log, or raise timeout_s for large models")
            time.sleep(_POLL_S)

    def apply(self, loading: ServingState, final: ServingState, version: int) -> None:
        """Load ``version`` (config ``loading``: the version added, labels as before), wait until
        it is AVAILABLE, then send ``final`` (the new labels, retired versions gone)."""
        self.reload(loading.to_proto())
        self.wait_available(final.name, version)
        self.reload(final.to_proto())

    def _rpc_error(self, method: str, err: grpc.RpcError) -> ExecutionError:
        return ExecutionError(f"TensorFlow Serving at {self.address}: {method} failed with "
                              f"{err.code().name}: {err.details()}. Is the server running with "
                              f"its gRPC port at this address?")
