"""Every error accelml raises on purpose.

Each names what is at fault (a file, a column, an option, a row) and what to do about it, so that the CLI can print
one line and exit without a traceback.
"""

from __future__ import annotations

__all__ = [
    "AccelMLError",
    "ArtifactError",
    "ConfigError",
    "DataError",
    "NotFittedError",
    "SchemaError",
    "TimeLimitError",
]


class AccelMLError(Exception):
    """Base class: an error the user can fix, with a message that says how."""


class DataError(AccelMLError, ValueError):
    """The input data cannot be used: unreadable file, unknown target, constant target, ..."""


class SchemaError(DataError):
    """Data given for prediction does not match the schema the model was trained on."""


class ConfigError(AccelMLError, ValueError):
    """An option is unknown or out of range."""


class ArtifactError(AccelMLError):
    """A saved model folder is missing, changed, or was written by incompatible versions."""


class NotFittedError(AccelMLError, AttributeError):
    """A model was used before ``fit``."""


class TimeLimitError(AccelMLError):
    """The time limit was too short for even one trial on this data; the message gives a limit that would do."""
