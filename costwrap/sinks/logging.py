"""``LoggingSink``: one log line per call, with the record's fields as structured ``extra``."""

from __future__ import annotations

import logging

from costwrap._format import usd
from costwrap._record import CostRecord


class LoggingSink:
    """Log each record as one line on a logger (the ``costwrap`` logger at INFO by default).

    The line reads ``openai gpt-4o-mini-2024-07-18 chat.completions in=1200 out=300 cost=$0.000285``.
    Every field of the record is also passed as ``extra`` (``costwrap_provider``,
    ``costwrap_cost`` as a decimal string, ...) so JSON log formatters pick them up. No prompt or
    completion text is ever logged: records carry none.

    >>> import costwrap
    >>> costwrap.add_sink(costwrap.LoggingSink())
    >>> costwrap.remove_sink(costwrap.LoggingSink())  # sinks compare by their settings
    """

    def __init__(self, logger: logging.Logger | str | None = None, level: int = logging.INFO) -> None:
        if isinstance(logger, str) or logger is None:
            logger = logging.getLogger(logger or "costwrap")
        self.logger = logger
        self.level = level

    def __call__(self, record: CostRecord) -> None:
        """Log ``record`` (cheaply skipped when the logger would drop the line)."""
        if not self.logger.isEnabledFor(self.level):
            return
        usage = record.usage
        tokens = f"in={usage.input_tokens} out={usage.output_tokens}" if usage else "usage=unknown"
        extra = {f"costwrap_{key}": value for key, value in record.to_dict().items()}
        self.logger.log(
            self.level,
            "%s %s %s %s cost=%s%s",
            record.provider,
            record.model or "?",
            record.operation,
            tokens,
            usd(record.cost),
            " (estimated)" if record.estimated else "",
            extra=extra,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LoggingSink) and (self.logger, self.level) == (other.logger, other.level)

    def __hash__(self) -> int:
        return hash((LoggingSink, self.logger.name, self.level))

    def __repr__(self) -> str:
        return f"LoggingSink(logger={self.logger.name!r}, level={logging.getLevelName(self.level)})"
