"""User-facing errors.

Every error a user can cause (bad config, missing file, impossible mapping, missing tool) derives from
:class:`CosimError`. The command line prints its message and exits with a non-zero code, without a
traceback; library users can catch it like any exception.
"""


class CosimError(Exception):
    """An error caused by the user's input or environment; the message says what and how to fix it."""

    exit_code = 2


class ConfigError(CosimError):
    """A configuration value is missing, unknown, of the wrong type, or impossible."""


class ParameterError(CosimError, ValueError):
    """A physical parameter is invalid (negative conductance, shape mismatch, rails inverted, ...)."""


class DatasetNotFoundError(CosimError, FileNotFoundError):
    """A dataset's files are not where cosim looked; the message lists the places and how to get them."""


class ConvergenceError(CosimError, RuntimeError):
    """An iterative solver did not reach its tolerance within its iteration cap."""

    exit_code = 1
