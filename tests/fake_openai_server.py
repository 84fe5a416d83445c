"""A small local server speaking the shapes of OpenAI's API, for the real ``openai`` client.

It answers on 127.0.0.1 (port chosen by the OS) in a thread:

* ``POST /v1/chat/completions``: a chat completion, or with ``"stream": true``
  an SSE stream (role chunk, content chunks, finish chunk, a usage chunk when
  ``stream_options.include_usage`` is set, ``data: [DONE]``);
* ``POST /v1/embeddings``: a bag-of-words vector per input, as floats or base64
  like the real API (the SDK asks for base64 by default).

The ``X-Fake-Scenario`` request header chooses a failure: ``error-400`` and
``error-500`` (OpenAI's error body), ``broken-chunk`` (a stream whose third
chunk is not JSON) and ``cut-stream`` (a stream whose connection closes in the
middle of the chunked body). Each request body is kept in ``requests``.
"""

from __future__ import annotations

import array
import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER_MODEL = "gpt-4o-mini-2024-07-18"
EMBEDDING_VOCABULARY = ("refund", "days", "shipping", "free", "password", "reset", "order", "help")
"""One dimension per word: a text's vector counts the words it contains."""

STREAM_PIECES = ("Refunds ", "take ", "5 days.")
"""The content deltas of a streamed answer, in order."""

ANSWERS = {
    "How long do refunds take?": "Refunds take 5 days.",
    "Is shipping free?": "Shipping is free over $50.",
}


def answer_for(question: str) -> str:
    return ANSWERS.get(question, f"No answer for: {question}")


def bag_of_words(text: str) -> list[float]:
    words = [word.strip(".,?!").lower() for word in text.split()]
    return [
        float(sum(1 for word in words if word.startswith(stem))) for stem in EMBEDDING_VOCABULARY
    ]


class FakeOpenAI:
    """The server; use as a context manager. ``base_url`` is what the client takes."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked streams, so a cut one is detectably cut
    fake: FakeOpenAI

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        self.fake.requests.append(body)
        scenario = self.headers.get("X-Fake-Scenario", "")
        if scenario.startswith("error-"):
            status = int(scenario.removeprefix("error-"))
            self._send_json(status, _error_body(status))
        elif self.path == "/v1/chat/completions" and body.get("stream"):
            try:
                self._send_stream(body, scenario)
            except ConnectionError:  # the client closed the stream early, as it may
                self.close_connection = True
        elif self.path == "/v1/chat/completions":
            self._send_json(200, _completion(body))
        elif self.path == "/v1/embeddings":
            self._send_json(200, _embeddings(body))
        else:
            self._send_json(404, _error_body(404))

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_stream(self, body: dict[str, Any], scenario: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for index, event in enumerate(_stream_events(body)):
            if scenario == "broken-chunk" and index == 2:
                event = "data: {not json\n\n"
            if scenario == "cut-stream" and index == 2:
                # Half a chunk, then the connection closes: the body never completes.
                self.wfile.write(b"ff\r\ndata: {")
                self.wfile.flush()
                self.close_connection = True
                return
            data = event.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


def _error_body(status: int) -> dict[str, Any]:
    kinds = {400: "invalid_request_error", 404: "not_found_error", 500: "server_error"}
    return {
        "error": {
            "message": f"fake error {status}",
            "type": kinds.get(status, "server_error"),
            "param": None,
            "code": None,
        }
    }


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("content"), str):
            return str(message["content"])
    return ""


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 8, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


def _completion(body: dict[str, Any]) -> dict[str, Any]:
    text = answer_for(_last_user_text(body.get("messages", [])))
    choices = [
        {
            "index": index,
            "message": {"role": "assistant", "content": text, "refusal": None},
            "finish_reason": "stop",
            "logprobs": None,
        }
        for index in range(int(body.get("n") or 1))
    ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": ANSWER_MODEL,
        "choices": choices,
        "usage": _usage(21, 6),
    }


def _chunk(delta: dict[str, Any], finish_reason: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": ANSWER_MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def _stream_events(body: dict[str, Any]) -> Iterator[str]:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    chunks = [_chunk({"role": "assistant", "content": ""}, None)]
    chunks += [_chunk({"content": piece}, None) for piece in STREAM_PIECES]
    chunks.append(_chunk({}, "stop"))
    if include_usage:
        last = _chunk({}, None)
        last["choices"] = []
        last["usage"] = _usage(21, 3)
        chunks.append(last)
    for chunk in chunks:
        yield f"data: {json.dumps(chunk)}\n\n"
    yield "data: [DONE]\n\n"


def _embeddings(body: dict[str, Any]) -> dict[str, Any]:
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
    data = []
    for index, text in enumerate(texts):
        vector = bag_of_words(text if isinstance(text, str) else "")
        embedding: Any = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(array.array("f", vector).tobytes()).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(len(str(text).split()) for text in texts)
    return {
        "object": "list",
        "data": data,
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
