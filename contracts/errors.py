"""The project's error tree: small, flat and picklable.

Ray moves exceptions between processes by pickling them, so every error here keeps its
constructor arguments in ``self.args`` (which is what ``BaseException.__reduce__`` pickles)
and carries only plain data.

::

    AgentClusterError                 root of everything raised on purpose
    ├── RetryableError                worth another attempt after the retry delay
    │   ├── ModelUnavailableError     model provider 429/5xx/timeout/connection
    │   ├── AgentTimeoutError         a run exceeded MAX_PROCESSING_TIME
    │   ├── ReplicaLostError          the pool replica died mid-run
    │   ├── PublishError              a reply was not confirmed or was returned
    │   └── BrokerUnavailableError    RabbitMQ cannot be reached
    └── PermanentError                retrying cannot help
        ├── PoisonMessageError        the ag_queue body cannot be decoded
        ├── AgentFailedError          the model or a tool failed for good
        ├── TopologyDriftError        a live queue's arguments differ from the contract
        └── ConfigError               a setting is invalid
"""

from __future__ import annotations

__all__ = [
    "AgentClusterError",
    "AgentFailedError",
    "AgentTimeoutError",
    "BrokerUnavailableError",
    "ConfigError",
    "ModelUnavailableError",
    "PermanentError",
    "PoisonMessageError",
    "PublishError",
    "ReplicaLostError",
    "RetryableError",
    "TopologyDriftError",
]


class AgentClusterError(Exception):
    """Root of every error the project raises on purpose."""

    #: Stable machine-readable code; used as ``error.code`` in wb_queue replies.
    code: str = "AGENT_CLUSTER_ERROR"
    #: Whether another attempt after the retry delay may succeed.
    retryable: bool = False

    def __init__(self, reason: str, *args: object) -> None:
        super().__init__(reason, *args)
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class RetryableError(AgentClusterError):
    """Raised when a failure is transient and the request should be retried."""

    code = "TRANSIENT_ERROR"
    retryable = True


class PermanentError(AgentClusterError):
    """Raised when retrying the same request cannot change the outcome."""

    code = "PERMANENT_ERROR"


class ModelUnavailableError(RetryableError):
    """Raised when the model provider rate-limits, errors with 5xx, or cannot be reached."""

    code = "MODEL_UNAVAILABLE"


class AgentTimeoutError(RetryableError):
    """Raised when an agent run exceeds its deadline (MAX_PROCESSING_TIME)."""

    code = "PROCESSING_TIMEOUT"


class ReplicaLostError(RetryableError):
    """Raised when the pool replica running a request died or became unreachable."""

    code = "REPLICA_LOST"


class PublishError(RetryableError):
    """Raised when a reply was nacked, not confirmed in time, or returned as unroutable."""

    code = "PUBLISH_FAILED"


class BrokerUnavailableError(RetryableError):
    """Raised when RabbitMQ cannot be reached or refuses the credentials."""

    code = "BROKER_UNAVAILABLE"


class PoisonMessageError(PermanentError):
    """Raised when an ag_queue body is not a valid request; ``reason`` names the field.

    ``contact`` holds the raw ``contact`` object when it could still be read, so an error
    reply can reach the customer even though the request as a whole is invalid.
    """

    code = "INVALID_MESSAGE"

    def __init__(
        self,
        reason: str,
        contact: dict[str, object] | None = None,
        message_id: str | None = None,
    ) -> None:
        super().__init__(reason, contact, message_id)
        self.contact = contact
        self.message_id = message_id


class AgentFailedError(PermanentError):
    """Raised when the model or a tool fails in a way another attempt will not fix."""

    code = "AGENT_FAILED"


class TopologyDriftError(PermanentError):
    """Raised when a live queue was declared with arguments other than the contract's."""

    code = "TOPOLOGY_DRIFT"


class ConfigError(PermanentError):
    """Raised when a setting is invalid; the message names the variable."""

    code = "CONFIG_ERROR"
