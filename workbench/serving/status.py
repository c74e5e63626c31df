"""Serving errors with their gRPC status and the HTTP code TF Serving maps it to."""

from __future__ import annotations

from typing import Any

from workbench.errors import WorkbenchError

__all__ = ["HTTP_STATUS", "ServingError", "http_status"]

#: gRPC status name → HTTP status, as TF Serving's REST layer maps them.
HTTP_STATUS = {
    "OK": 200,
    "INVALID_ARGUMENT": 400, "FAILED_PRECONDITION": 400, "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409, "ABORTED": 409, "RESOURCE_EXHAUSTED": 429, "CANCELLED": 499,
    "UNKNOWN": 500, "INTERNAL": 500, "DATA_LOSS": 500, "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503, "DEADLINE_EXCEEDED": 504,
}


def http_status(code: str) -> int:
    return HTTP_STATUS.get(code, 500)


class ServingError(WorkbenchError):
    """A request or load the model server refuses, with its gRPC status ``code``."""

    def __init__(self, code: str, message: str, *, hint: str | None = None,
                 **context: Any) -> None:
        super().__init__(message, hint=hint, **context)
        self.code = code

    @property
    def http_status(self) -> int:
        return http_status(self.code)

    def grpc_code(self) -> Any:
        import grpc

        return getattr(grpc.StatusCode, self.code, grpc.StatusCode.UNKNOWN)


def invalid(message: str, **context: Any) -> ServingError:
    return ServingError("INVALID_ARGUMENT", message, **context)


def not_found(message: str, **context: Any) -> ServingError:
    return ServingError("NOT_FOUND", message, **context)
