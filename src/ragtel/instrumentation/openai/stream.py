"""Chat streams that end their call's span exactly once, however they end.

The SDK's ``Stream`` / ``AsyncStream`` is handed to the app inside a proxy
that behaves like it (iteration, ``with``/``async with``, ``close()``,
``.response`` and every other attribute, ``isinstance``) and watches it:

* each chunk is taken into the answer as it passes;
* the span ends when the stream is exhausted, raises (recorded as the
  call's error), is closed (``close()``, leaving a ``with`` block), or is
  dropped unfinished (after ``break``): the proxy's garbage collection ends it.

The span was started where the call was made and keeps that parent, wherever
and whenever the stream is read.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any

import wrapt

from ragtel.instrumentation.openai.response import StreamAccumulator

_logger = logging.getLogger("ragtel")

OnEnd = Callable[[StreamAccumulator, "BaseException | None"], None]
"""Called once with what the stream delivered, and the error it raised (None if none)."""


class StreamRecording:
    """What a stream has delivered so far, and the one call of its end."""

    def __init__(self, on_end: OnEnd) -> None:
        self.received = StreamAccumulator()
        self._on_end = on_end
        self._lock = threading.Lock()
        self._ended = False
        self.finalizer: weakref.finalize[Any, Any] | None = None

    def add(self, chunk: Any) -> None:
        try:
            self.received.add(chunk)
        except Exception:
            _logger.exception("ragtel: reading an OpenAI stream chunk failed; the stream goes on")

    def end(self, error: BaseException | None = None) -> None:
        """End the recording, once: later calls do nothing."""
        with self._lock:
            if self._ended:
                return
            self._ended = True
        if self.finalizer is not None:
            self.finalizer.detach()  # ended by the app: nothing left for garbage collection
        self._on_end(self.received, error)

    def failed(self, error: BaseException) -> None:
        """The stream raised: an error is the call's error; an exit or cancel only ends it."""
        self.end(error if isinstance(error, Exception) else None)


def _follow(proxy: wrapt.ObjectProxy[Any], on_end: OnEnd) -> StreamRecording:
    recording = StreamRecording(on_end)
    # Holds the recording, not the proxy: a stream dropped unfinished ends its span.
    recording.finalizer = weakref.finalize(proxy, recording.end)
    return recording


class ChatStreamProxy(wrapt.ObjectProxy[Any]):
    """A synchronous ``Stream`` of chat chunks, recorded as it is read."""

    def __init__(self, stream: Any, on_end: OnEnd) -> None:
        super().__init__(stream)
        self._self_recording = _follow(self, on_end)

    def __iter__(self) -> ChatStreamProxy:
        return self

    def __next__(self) -> Any:
        recording: StreamRecording = self._self_recording
        try:
            chunk = self.__wrapped__.__next__()
        except StopIteration:
            recording.end()
            raise
        except BaseException as error:
            recording.failed(error)
            raise
        recording.add(chunk)
        return chunk

    def __enter__(self) -> ChatStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(*exc_info)
        finally:
            self._self_recording.end()

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_recording.end()


class AsyncChatStreamProxy(wrapt.ObjectProxy[Any]):
    """An ``AsyncStream`` of chat chunks, recorded as it is read."""

    def __init__(self, stream: Any, on_end: OnEnd) -> None:
        super().__init__(stream)
        self._self_recording = _follow(self, on_end)

    def __aiter__(self) -> AsyncChatStreamProxy:
        return self

    async def __anext__(self) -> Any:
        recording: StreamRecording = self._self_recording
        try:
            chunk = await self.__wrapped__.__anext__()
        except StopAsyncIteration:
            recording.end()
            raise
        except BaseException as error:
            recording.failed(error)
            raise
        recording.add(chunk)
        return chunk

    async def __aenter__(self) -> AsyncChatStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(*exc_info)
        finally:
            self._self_recording.end()

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_recording.end()

    async def aclose(self) -> Any:
        # Older SDKs have close() only.
        closing = getattr(self.__wrapped__, "aclose", None) or self.__wrapped__.close
        try:
            return await closing()
        finally:
            self._self_recording.end()
