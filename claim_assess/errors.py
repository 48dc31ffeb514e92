"""The project's one exception tree.

    ClaimAssessError                      root: everything the engine raises on purpose
    ├── InputError                        bad input; names the thing that is wrong
    │   ├── DatasetError                  the dataset as a whole cannot be read (stops before any work)
    │   └── ClaimInputError               one claim cannot be parsed or validated (that claim is FAILED)
    ├── LLMError                          talking to the model failed
    │   ├── LLMCallError                  one HTTP attempt failed (status / timeout / connection)
    │   ├── InvalidOutputError            the answer broke the schema after the allowed retries
    │   └── EndpointError                 the endpoint, not the claim, failed the call: no fair try, no FAILED record
    │       ├── QuotaExhausted            provider says insufficient_quota: stop the run, retrying is pointless
    │       ├── EndpointRejected          the endpoint refuses the run's configuration (key, model, request
    │       │                             shape): stop the run at once
    │       └── EndpointUnavailable       the call gave up on errors that were not about the claim (unreachable,
    │           │                         5xx, timeouts, an unexplained 4xx): the claim is tried again later;
    │           │                         several claims in a row stop the run
    │           └── DeadlineExceeded      a call's retry deadline passed
    ├── LedgerError                       the audit trail
    │   ├── LedgerLockedError             another writer holds the ledger
    │   ├── LedgerCorruptError            a bad record before the tail (names the seq)
    │   ├── LedgerWriteError              a write or fsync failed; the writer has stopped
    │   ├── CanonicalFormError            bytes are not the canonical form of what they parse to
    │   ├── InvalidRecordError            a record handed to the ledger is malformed (nothing written)
    │   └── EvidenceMissing               replay: a decision's claim, policy or cited call is absent or not what
    │                                     the decision recorded (that decision cannot be re-derived)
    └── RunError                          the run itself cannot go on (config, cluster, actors)
        └── ConfigError                   a flag or setting is invalid

Exceptions must stay picklable (Ray re-raises them in the caller), so every class takes only
positional string arguments or defines __reduce__.
"""

from __future__ import annotations


class ClaimAssessError(Exception):
    """Root of every error the engine raises on purpose."""


class InputError(ClaimAssessError):
    """Bad input; the message names the field or file that is wrong."""


class DatasetError(InputError):
    """The dataset as a whole cannot be read: a clear error before any work starts."""


class ClaimInputError(InputError):
    """One claim cannot be parsed or validated; that claim is FAILED, the run goes on."""


class LLMError(ClaimAssessError):
    """Talking to the model failed."""


class LLMCallError(LLMError):
    """One HTTP attempt failed; ``status`` is the HTTP status or "timeout" / "connection_error"."""

    def __init__(self, message: str, status: int | str | None = None):
        super().__init__(message)
        self.status = status

    def __reduce__(self):
        return (type(self), (str(self), self.status))


class InvalidOutputError(LLMError):
    """The model's answer broke the schema after the allowed retries."""


class EndpointError(LLMError):
    """The endpoint failed the call for a reason outside the claim: the claim never had a fair try, so it gets no
    decision record and stays undecided (the run retries it, or leaves it for ``--resume``)."""


class QuotaExhausted(EndpointError):
    """The provider reported insufficient_quota: stop cleanly, leave undecided claims for later."""


class EndpointRejected(EndpointError):
    """The endpoint refuses what every request of the run shares (the key, the model, the request's shape): no
    retry and no other claim can succeed, so the run stops at once."""


class EndpointUnavailable(EndpointError):
    """A call gave up on errors that were not about its claim (connection refused, DNS, timeouts, 5xx, 429s, an
    unexplained 4xx): the claim is tried again; the same on several claims in a row stops the run."""


class DeadlineExceeded(EndpointUnavailable):
    """A call's retry deadline passed before an attempt succeeded (its waits were for the endpoint, not the claim)."""


class LedgerError(ClaimAssessError):
    """The audit trail."""


class LedgerLockedError(LedgerError):
    """Another writer holds the ledger's exclusive lock."""


class LedgerCorruptError(LedgerError):
    """A bad record before the tail; the writer refuses to start."""


class LedgerWriteError(LedgerError):
    """A write or fsync failed; the writer has stopped and acknowledges nothing more."""


class CanonicalFormError(LedgerError):
    """Bytes that are not the canonical form (RFC 8785) of what they parse to."""


class InvalidRecordError(LedgerError):
    """A decision or LLM call record handed to the ledger is malformed; nothing was written."""


class EvidenceMissing(LedgerError):
    """Replay cannot re-derive a decision: its claim or policy is not in the dataset or does not match the recorded
    digest, or a call it cites is absent, changed, or asked something other than what the rules ask now."""


class RunError(ClaimAssessError):
    """The run itself cannot go on."""


class ConfigError(RunError):
    """A flag or setting is invalid."""
