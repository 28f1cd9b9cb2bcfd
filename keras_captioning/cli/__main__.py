import sys

from keras_captioning.cli.main import main

sys.exit(main())
