"""One-line messages and distinct exit codes for what goes wrong when a client calls AWS."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

EXIT_AWS, EXIT_INPUT, EXIT_NOT_FOUND, EXIT_CREDENTIALS, EXIT_REFUSED = 1, 2, 3, 4, 5
NO_CREDENTIALS = "no AWS credentials found: set AWS_PROFILE, or run `aws configure` or `aws sso login`"
REFUSED_CREDENTIALS = {
    "AccessDeniedException",
    "AccessDenied",
    "UnrecognizedClientException",
    "ExpiredTokenException",
    "InvalidSignatureException",
}

_STACK_TRACE = re.compile(r"\s*Stack trace:(?:\s*\[bt\][^\n]*)*")
"""The native backtrace XGBoost appends to its errors (the container passes it on to the caller)."""


def one_line(message: str) -> str:
    """A message from AWS or a container, on one line: no backtrace, whitespace runs collapsed."""
    return " ".join(_STACK_TRACE.sub("", message).split())


class ClientError(Exception):
    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@contextmanager
def aws_errors(not_found: str) -> Iterator[None]:
    """Translate botocore's exceptions; ``not_found`` is what to say when the resource is missing."""
    from botocore.exceptions import BotoCoreError, NoCredentialsError, PartialCredentialsError
    from botocore.exceptions import ClientError as BotoClientError

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError):
        raise ClientError(NO_CREDENTIALS, EXIT_CREDENTIALS) from None
    except BotoClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = one_line(error.response.get("Error", {}).get("Message", str(error)))
        if code == "ModelError":
            status = error.response.get("OriginalStatusCode", "?")
            raise ClientError(f"the model failed on this input (container status {status}): {message}", EXIT_REFUSED) from None
        if code in ("ValidationException", "ResourceNotFound") and ("not found" in message.lower() or "does not exist" in message.lower()):
            raise ClientError(not_found, EXIT_NOT_FOUND) from None
        if code in REFUSED_CREDENTIALS:
            raise ClientError(f"AWS refused the credentials ({code}): {message}", EXIT_CREDENTIALS) from None
        raise ClientError(f"{code or 'AWS error'}: {message}", EXIT_AWS) from None
    except BotoCoreError as error:
        raise ClientError(f"AWS error: {one_line(str(error))}", EXIT_AWS) from None


def run_reporting_errors(action: Callable[[], None]) -> int:
    """Run a command's body; a ClientError becomes one ``error:`` line and its exit code."""
    try:
        action()
    except ClientError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    return 0
