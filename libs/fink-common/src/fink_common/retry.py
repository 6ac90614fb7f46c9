"""Tenacity retry policies, for I/O edges only (Kafka, HBase, file systems), never around pure code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import structlog
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)

from fink_common.errors import ServiceUnavailableError
from fink_common.logging import configure_from_environment

__all__ = ["io_retry", "log_retry"]

F = TypeVar("F", bound=Callable[..., Any])
_log = structlog.get_logger("fink.retry")


def log_retry(state: RetryCallState) -> None:
    """Log each retry as one structured line (what failed, which attempt, how long we wait)."""
    exc = state.outcome.exception() if state.outcome else None
    configure_from_environment()  # on a Spark Python worker, nothing else configured logging
    _log.warning(
        "retrying",
        call=getattr(state.fn, "__qualname__", str(state.fn)),
        attempt=state.attempt_number,
        wait_s=round(state.next_action.sleep, 2) if state.next_action else None,
        error=repr(exc),
    )


def io_retry(
    *,
    attempts: int = 20,
    max_delay_s: float = 180.0,
    initial_s: float = 0.5,
    max_wait_s: float = 15.0,
    on: tuple[type[BaseException], ...] = (ServiceUnavailableError, ConnectionError, OSError, TimeoutError),
) -> Callable[[F], F]:
    """Exponential backoff with jitter for a call at an I/O edge; re-raises the last error when exhausted.
    The defaults (waits of 0.5, 1, 2, 4, 8 s, then 15 s, for up to 180 s) ride out a service that is down for
    about two minutes, e.g. HBase stopped for a minute and then booting; after that the stage fails and is
    restarted. The time bound is the one that counts: a refused connection fails at once, so 12 attempts
    (the former default) ended after ~110 s of waits, before a 60 s HBase outage plus its restart was over."""
    return retry(  # type: ignore[return-value]
        retry=retry_if_exception_type(on),
        wait=wait_exponential_jitter(multiplier=initial_s, max=max_wait_s),
        stop=stop_after_attempt(attempts) | stop_after_delay(max_delay_s),
        before_sleep=log_retry,
        reraise=True,
    )
