"""Training curves from the history that `fit` returns."""

from collections.abc import Mapping

from keras_captioning.visualization._figures import _check_path
from keras_captioning.visualization._figures import _grid_shape
from keras_captioning.visualization._figures import _new_figure
from keras_captioning.visualization._figures import _save
from keras_captioning.visualization._inputs import _numeric_array

_PANEL_SIZE = (4.0, 3.0)
_MAX_COLUMNS = 3
_VALIDATION_PREFIX = "val_"


def plot_history(history, metrics=None, path=None, validation_freq=1):
    """Plots training curves, one panel per metric, train and validation
    together.

    Each panel shows the metric recorded on the training data (`"loss"`) and,
    when present, its validation counterpart (`"val_loss"`), against the
    1-based epoch number. Curves are labelled with their history keys.

    Needs matplotlib (`pip install "keras-captioning[visualization]"`). The
    figure is built without `pyplot`, so this works on headless machines.

    Args:
        history: the `keras.callbacks.History` returned by `Model.fit`, or
            its `.history` dict mapping each key to one value per epoch.
            With a `History`, the epochs it recorded are used, so a run
            resumed with `initial_epoch` is numbered from where it resumed.
        metrics: `None`, a metric name or a list of them, without the `val_`
            prefix (`"loss"`, not `"val_loss"`). `None` plots every metric in
            the history, in its order. Defaults to `None`.
        path: string or path-like, or `None`. When given, the figure is also
            saved there; the format follows the file extension, PNG when
            there is none. Defaults to `None`.
        validation_freq: the `validation_freq` given to `fit`: a positive int
            (validate every that many epochs) or a list of the 1-based epochs
            at which validation ran. Places the `val_` points at the epochs
            they were measured. Defaults to `1`.

    Returns:
        A `matplotlib.figure.Figure` with one axes per metric, in order.

    Example:
    >>> history = {
    ...     "loss": [2.0, 1.5, 1.2],
    ...     "val_loss": [2.1, 1.7, 1.6],
    ...     "accuracy": [0.2, 0.4, 0.5],
    ... }
    >>> figure = keras_captioning.visualization.plot_history(history)
    >>> [axes.get_title() for axes in figure.axes]
    ['loss', 'accuracy']
    """
    records, recorded_epochs = _records(history)
    names = _metric_names(records, metrics)
    _check_validation_freq(validation_freq)
    _check_path(path)

    series = {
        key: _series(values, key)
        for key, values in records.items()
        if key in names or key.removeprefix(_VALIDATION_PREFIX) in names
    }
    epochs = _epochs(series, recorded_epochs, validation_freq)
    validation_epochs = [
        epoch for epoch in epochs if _validated(epoch, validation_freq)
    ]
    # Check every curve before drawing, so a bad history fails before any
    # figure is made.
    curves = []
    for name in names:
        panel = []
        for key, positions, kind in (
            (name, epochs, "training"),
            (_VALIDATION_PREFIX + name, validation_epochs, "validation"),
        ):
            if key not in series:
                continue
            if len(series[key]) != len(positions):
                raise ValueError(
                    _length_message(key, series[key], positions, kind)
                )
            panel.append((key, positions, series[key]))
        curves.append(panel)

    rows, columns = _grid_shape(len(names), _MAX_COLUMNS)
    figure = _new_figure((columns * _PANEL_SIZE[0], rows * _PANEL_SIZE[1]))
    from matplotlib.ticker import MaxNLocator

    for index, (name, panel) in enumerate(zip(names, curves, strict=True)):
        axes = figure.add_subplot(rows, columns, index + 1)
        for key, positions, values in panel:
            axes.plot(positions, values, marker="o", markersize=3, label=key)
        axes.set_title(name)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend()
    _save(figure, path)
    return figure


def _records(history):
    recorded_epochs = None
    if not isinstance(history, Mapping):
        records = getattr(history, "history", None)
        if not isinstance(records, Mapping):
            raise TypeError(
                "`history` must be a keras.callbacks.History or a dict of "
                f"per-epoch values. Received: history={history!r} of type "
                f"{type(history).__name__}"
            )
        recorded_epochs = getattr(history, "epoch", None)
        history = records
    if not history:
        raise ValueError(
            "`history` is empty: no metric was recorded. Plot it after "
            "`fit` has run at least one epoch."
        )
    for key in history:
        if not isinstance(key, str):
            raise TypeError(
                "`history` keys must be metric names (strings). Received: "
                f"key {key!r} of type {type(key).__name__}"
            )
    return dict(history), recorded_epochs


def _metric_names(records, metrics):
    available = []
    for key in records:
        name = key.removeprefix(_VALIDATION_PREFIX)
        if name not in available:
            available.append(name)
    if metrics is None:
        return available
    if isinstance(metrics, str):
        metrics = [metrics]
    if not isinstance(metrics, (list, tuple)) or not all(
        isinstance(name, str) for name in metrics
    ):
        raise TypeError(
            "`metrics` must be None, a metric name or a list of names. "
            f"Received: metrics={metrics!r}"
        )
    if not metrics:
        raise ValueError(
            "`metrics` is an empty list: there is nothing to plot. Pass "
            "metrics=None to plot every metric."
        )
    for name in metrics:
        if name not in available:
            hint = ""
            if name.startswith(_VALIDATION_PREFIX):
                hint = (
                    f" Name the metric without the prefix ("
                    f"{name.removeprefix(_VALIDATION_PREFIX)!r}): its "
                    "validation curve is drawn with it."
                )
            raise ValueError(
                f"`metrics` names {name!r}, which is not in the history. "
                f"Available metrics: {available}.{hint}"
            )
    if len(set(metrics)) != len(metrics):
        raise ValueError(
            f"`metrics` names a metric twice. Received: metrics={metrics!r}"
        )
    return list(metrics)


def _series(values, key):
    array = _numeric_array(values, f"history[{key!r}]")
    if array.ndim != 1:
        raise ValueError(
            f"`history[{key!r}]` must be a flat list of one value per "
            f"epoch. Received: shape={tuple(array.shape)}"
        )
    if array.size == 0:
        raise ValueError(f"`history[{key!r}]` has no values.")
    return array.astype(float)


def _epochs(series, recorded_epochs, validation_freq):
    """1-based epoch numbers of the run the plotted series come from."""
    lengths = {
        key: len(values)
        for key, values in series.items()
        if not key.startswith(_VALIDATION_PREFIX)
    }
    if len(set(lengths.values())) > 1:
        raise ValueError(
            "The training metrics in `history` must have one value per "
            f"epoch, the same number each. Received lengths: {lengths}"
        )
    if lengths:
        count = next(iter(lengths.values()))
    elif recorded_epochs is not None:
        count = len(recorded_epochs)
    elif isinstance(validation_freq, int):
        # Only validation curves and no record of the epochs: the run lasted
        # at least until the last validation.
        count = validation_freq * max(len(values) for values in series.values())
    else:
        count = max(validation_freq)
    if recorded_epochs is not None and len(recorded_epochs) == count:
        return [int(epoch) + 1 for epoch in recorded_epochs]
    return list(range(1, count + 1))


def _check_validation_freq(validation_freq):
    if isinstance(validation_freq, bool):
        valid = False
    elif isinstance(validation_freq, int):
        valid = validation_freq >= 1
    elif isinstance(validation_freq, (list, tuple)):
        valid = len(validation_freq) > 0 and all(
            isinstance(epoch, int)
            and not isinstance(epoch, bool)
            and epoch >= 1
            for epoch in validation_freq
        )
    else:
        valid = False
    if not valid:
        raise ValueError(
            "`validation_freq` must be a positive int or a non-empty list "
            "of positive 1-based epoch numbers, as given to `fit`. "
            f"Received: validation_freq={validation_freq!r}"
        )


def _validated(epoch, validation_freq):
    # The same rule `fit` applies: an int means every that many epochs, a list
    # names the epochs.
    if isinstance(validation_freq, int):
        return epoch % validation_freq == 0
    return epoch in validation_freq


def _length_message(key, values, positions, kind):
    return (
        f"`history[{key!r}]` has {len(values)} values but the {kind} "
        f"schedule has {len(positions)} epochs "
        f"({positions[:3]}{'...' if len(positions) > 3 else ''}). If "
        "validation did not run every epoch, pass the `validation_freq` "
        "given to `fit`."
    )
