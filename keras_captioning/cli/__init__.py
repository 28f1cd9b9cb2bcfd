"""The `keras-captioning` command: caption, evaluate, train and export.

Installed by `pip install keras-captioning` as `keras-captioning`; also
`python -m keras_captioning.cli`. Every subcommand has `--help`, which
shows every option's default.

Exit codes, the same for every subcommand:

- `0`: everything worked.
- `1`: some inputs failed (an image that is missing, corrupt or cannot be
  read; each is reported on one line of stderr naming the file, and the
  other images are still processed) or the run itself failed (data that
  cannot be used, a failed download).
- `2`: usage error: a bad option, a path given as an argument that does
  not exist, or a model, caption or split file of the wrong form; nothing
  was done.
- `130`: interrupted (Ctrl-C).

An error is one line on stderr, `keras-captioning <command>: error: ...`,
saying what is wrong and how to fix it; `--debug` adds the traceback.
"""

from keras_captioning.cli._errors import EXIT_FAILED
from keras_captioning.cli._errors import EXIT_INTERRUPTED
from keras_captioning.cli._errors import EXIT_OK
from keras_captioning.cli._errors import EXIT_USAGE
from keras_captioning.cli.main import main

__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "main"]
