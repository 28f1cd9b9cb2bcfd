import signal
import threading

import keras


class StopOnInterrupt(keras.callbacks.Callback):
    """Turns a Ctrl-C during `fit` into a `KeyboardInterrupt` raised at the
    end of the batch in progress, from ordinary code.

    Python's own SIGINT handler raises `KeyboardInterrupt` wherever the
    main thread happens to be: in a finalizer (TensorFlow frees an epoch's
    data iterator in one), where Python prints "Exception ignored" and
    carries on as if never interrupted, or in a callback that TensorFlow's
    C++ code makes and does not expect to fail. This callback's handler
    only records the signal; `check`, called after every training and
    validation batch and at the end of each epoch, raises it. A second
    Ctrl-C gets the previous handler back, so it stops the run at once.

    The handler is installed only over Python's default one, in the main
    thread, when training begins (or when the object is entered as a
    context manager) and removed when training ends. `fit` skips
    `on_train_end` when it raises, so use the object as a context manager
    around `fit` to have the handler removed in every case. List it before
    `keras.callbacks.BackupAndRestore`, so an interrupted epoch is not
    saved as finished.

    Example:

    >>> stop = keras_captioning.callbacks.StopOnInterrupt()
    >>> with stop:
    ...     stop.interrupted
    False
    """

    def __init__(self):
        super().__init__()
        self.interrupted = False
        self._previous = None

    def _handle(self, signum, frame):
        self.interrupted = True
        signal.signal(signal.SIGINT, self._previous)

    def __enter__(self):
        if (
            self._previous is None
            and threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc_info):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False

    def check(self):
        """Raises `KeyboardInterrupt` if a Ctrl-C has been recorded."""
        if self.interrupted:
            raise KeyboardInterrupt

    def on_train_begin(self, logs=None):
        self.__enter__()

    def on_train_end(self, logs=None):
        self.__exit__()
        self.check()

    def on_train_batch_end(self, batch, logs=None):
        self.check()

    def on_test_batch_end(self, batch, logs=None):
        self.check()

    def on_epoch_end(self, epoch, logs=None):
        self.check()
