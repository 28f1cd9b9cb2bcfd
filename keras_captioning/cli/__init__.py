"""The `keras-captioning` command: caption, evaluate, train and export.

Installed by `pip install keras-captioning` as `keras-captioning`; also
`python -m keras_captioning.cli`. Every subcommand has `--help`.

Exit codes, the same for every subcommand:

- `0`: everything worked.
- `1`: some inputs failed (an image that is missing, corrupt or cannot be
  read; each is reported on one line of stderr naming the file) or the
  work itself failed; the other images were still processed.
- `2`: usage error: bad options, or a model or caption file that is
  missing or cannot be used; nothing was done.
"""

from keras_captioning.cli.main import EXIT_FAILED
from keras_captioning.cli.main import EXIT_OK
from keras_captioning.cli.main import EXIT_USAGE
from keras_captioning.cli.main import main

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]
