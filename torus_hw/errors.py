"""The one exception type for bad input anywhere in the pipeline.

Every check on user-supplied data (codes files, checkpoints, kernel specs,
CLI arguments) raises :class:`TorusInputError` with a one-line message that
names the offending field; the CLI turns it into ``torus-hw: error: …`` and
exit status 2.
"""


class TorusInputError(ValueError):
    """Bad input: the message is one line and names the problem."""
