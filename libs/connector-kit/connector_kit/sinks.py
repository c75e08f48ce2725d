"""What a singer-sdk sink needs of the target that creates it, as a Protocol.

The SDK types a sink's first parameter as its concrete `Target`, but its `Sink.__init__`
reads only the target's logger, start time and config (tests/test_sdk_internals.py pins
this). Each sink states what it uses beyond that in a small Protocol that extends
`SinkHost`, so it can be built and tested with any object that has those members, not
only with its own target class.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from singer_sdk import Target


class SinkHost(Protocol):
    """The members of a target that singer-sdk's `Sink.__init__` reads."""

    @property
    def logger(self) -> logging.Logger: ...

    @property
    def initialized_at(self) -> int: ...

    @property
    def config(self) -> Mapping[str, Any]: ...


def sdk_target(host: SinkHost) -> Target:
    """`host` for the SDK's `Sink.__init__`, which is typed for a `Target` but uses only
    `SinkHost`'s members."""
    return cast("Target", host)
