"""What the Ctrl-C tests give the child processes they interrupt."""

import signal


def default_sigint():
    """`preexec_fn` that gives a child the default SIGINT disposition.

    A shell's background job starts with SIGINT ignored, and Python then
    keeps it ignored; a user's Ctrl-C reaches a foreground process, so the
    child gets the default disposition whoever launched pytest.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
