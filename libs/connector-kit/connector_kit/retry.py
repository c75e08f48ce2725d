"""The one retry policy: exponential backoff with jitter, honouring Retry-After."""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import tenacity

from connector_kit.logs import kv

T = TypeVar("T")
log = logging.getLogger("connector_kit.retry")

RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})


class TransientError(Exception):
    """A fault worth retrying; `retry_after` is the server's hint in seconds."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def retry_after_seconds(response: requests.Response) -> float | None:
    """Parse Retry-After (seconds or HTTP date)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time())


def raise_for_transient(response: requests.Response) -> requests.Response:
    """Raise TransientError for statuses worth retrying; return the response otherwise."""
    if response.status_code in RETRYABLE_STATUS:
        raise TransientError(
            f"HTTP {response.status_code} from {response.request.method} {response.url}",
            retry_after=retry_after_seconds(response),
        )
    return response


TRANSIENT_EXCEPTIONS: tuple[type[BaseException], ...] = (
    TransientError,
    requests.ConnectionError,
    requests.Timeout,
)


class _WaitRetryAfter(tenacity.wait.wait_base):
    """Exponential backoff with jitter, but never shorter than Retry-After."""

    def __init__(self, initial: float, maximum: float) -> None:
        self.backoff = tenacity.wait_random_exponential(multiplier=initial, max=maximum)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        wait = self.backoff(retry_state)
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            wait = max(wait, error.retry_after)
        return float(wait)


def policy(
    *,
    attempts: int = 6,
    initial_wait: float = 0.2,
    max_wait: float = 30.0,
    retry_on: tuple[type[BaseException], ...] = TRANSIENT_EXCEPTIONS,
    on_retry: Callable[[tenacity.RetryCallState], None] | None = None,
    logger: logging.Logger | None = None,
    describe: Callable[[BaseException], str] | None = None,
) -> tenacity.Retrying:
    """Build a tenacity Retrying: use as `policy()(fn, *args)` or `for attempt in policy(): ...`.

    `describe` renders the error for the one-line retry log (default: str(error)).
    """
    logger = logger or log

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "retry %s",
            kv(
                attempt=state.attempt_number,
                of=attempts,
                wait_s=f"{wait:.2f}",
                error=describe(error) if describe and error else error,
            ),
        )
        if on_retry:
            on_retry(state)

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=_WaitRetryAfter(initial_wait, max_wait),
        retry=tenacity.retry_if_exception_type(retry_on),
        before_sleep=before_sleep,
        reraise=True,
    )


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call fn under the default policy."""
    return policy()(fn, *args, **kwargs)
