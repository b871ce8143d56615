"""The one exception type the command line turns into a one-line error and exit code 2."""


class GlorotError(Exception):
    """A problem the user can fix: a bad value, a missing or corrupt file, an unreachable server.

    Its message is a single line that names the offending field or file and, where it
    makes sense, the allowed values.
    """
