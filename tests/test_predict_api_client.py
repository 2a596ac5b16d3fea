"""clients/predict.py --via api: signed or keyed POSTs to the prediction API, and its answers as one-line errors.

The API is played by a local HTTP server on 127.0.0.1 answering what the API's templates answer
(tests/test_prediction_api.py renders those); what API Gateway itself checks of a signature is for AWS.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import boto3
import pytest

from clients import predict

ROWS = "".join(",".join(["1"] * 30) + "\n" for _ in range(3))


class _Api(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, str, bytes]]] = []
    seen: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append({"headers": dict(self.headers), "body": body, "path": self.path})
        status, content_type, answer = self.answers.pop(0)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    _Api.answers, _Api.seen = [], []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1/predictions"
    server.shutdown()
    server.server_close()


def run(url: str, *extra: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    import contextlib

    with contextlib.redirect_stderr(err):
        code = predict.main(["--env", "dev", "--via", "api", "--url", url, *extra], stdin=io.StringIO(ROWS), stdout=out)
    return code, out.getvalue(), err.getvalue()


def test_sigv4_signs_for_execute_api(api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    _Api.answers = [(200, "text/csv", b"0.1\n0.2\n0.9\n")]
    code, out, _ = run(api)
    assert (code, out) == (0, "0.100000\n0.200000\n0.900000\n")
    (request,) = _Api.seen
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert "/eu-west-1/execute-api/aws4_request" in headers["authorization"]
    assert headers["content-type"] == "text/csv"
    assert request["body"] == ROWS.encode()


def test_an_api_key_goes_in_x_api_key_and_nothing_is_signed(api: str, tmp_path: Path) -> None:
    key = tmp_path / "key.txt"
    key.write_text("k3y-value\n")
    _Api.answers = [(200, "text/csv", b"0.1\n0.2\n0.9\n")]
    assert run(api, "--api-key-file", str(key))[0] == 0
    headers = {k.lower(): v for k, v in _Api.seen[0]["headers"].items()}
    assert headers["x-api-key"] == "k3y-value"
    assert "authorization" not in headers


@pytest.mark.parametrize(
    ("status", "message", "exit_code", "line"),
    [
        (400, "the model refused the input: could not convert string to float: 'abc'", 5, "refused the input (400): the model refused"),
        (413, "the body is larger than the model accepts (6 MB): send fewer rows per request", 5, "(413)"),
        (429, "too many requests: retry with exponential backoff", 1, "throttled the request (429)"),
        (403, "Missing Authentication Token", 4, "refused the credentials (403)"),
        (503, "the model is not available: its endpoint does not exist (yet) in this environment", 3, "no model to call (503)"),
        (502, "the prediction service failed; retry later", 1, "failed (502)"),
    ],
)
def test_each_answer_is_one_line_and_an_exit_code(api: str, tmp_path: Path, status: int, message: str, exit_code: int, line: str) -> None:
    key = tmp_path / "key.txt"
    key.write_text("k")
    _Api.answers = [(status, "application/json", json.dumps({"message": message, "requestId": "r-1"}).encode())]
    code, out, err = run(api, "--api-key-file", str(key))
    assert (code, out) == (exit_code, "")
    assert err.startswith("error: the prediction API ")
    assert line in err
    assert err.count("\n") == 1


def test_an_unreachable_api_is_one_line(tmp_path: Path) -> None:
    key = tmp_path / "key.txt"
    key.write_text("k")
    code, _, err = run("http://127.0.0.1:9/v1/predictions", "--api-key-file", str(key))
    assert code == 1
    assert err.startswith("error: cannot reach the prediction API at http://127.0.0.1:9/")
    assert err.count("\n") == 1


def test_the_url_comes_from_the_stack_output() -> None:
    from moto import mock_aws

    with mock_aws():
        cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
        template = {
            "Resources": {"T": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {"PredictionApiUrl": {"Value": "https://abc.execute-api.eu-west-1.amazonaws.com/v1/predictions"}},
        }
        cloudformation.create_stack(StackName="dev-Inference", TemplateBody=json.dumps(template))
        assert predict.api_url("dev", "eu-west-1") == "https://abc.execute-api.eu-west-1.amazonaws.com/v1/predictions"
        with pytest.raises(predict.ClientError, match="stack prod-Inference not found in eu-west-1"):
            predict.api_url("prod", "eu-west-1")
