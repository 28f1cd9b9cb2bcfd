"""Argument checks for the whole package, worded the Keras way.

Every public entry point checks its arguments here, once, at the boundary:
"`units` must be a positive integer. Received: units=0". Checks on tensor
values run only where values exist (eager calls), never inside a compiled
loop.
"""

import functools
import math
import numbers

import keras
import numpy as np


def check_int(name, value, minimum=1, maximum=None, allow_none=False):
    """An integer in `[minimum, maximum]` (a Python or NumPy int, not bool)."""
    if value is None and allow_none:
        return None
    _check_number_type(name, value, numbers.Integral, "an integer", allow_none)
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(
            f"`{name}` must be {_range_text(minimum, maximum)}. "
            f"Received: {name}={value!r}"
        )
    return int(value)


def check_float(name, value, minimum=None, maximum=None, allow_none=False):
    """A finite real number (int or float, not bool) within the bounds."""
    if value is None and allow_none:
        return None
    _check_number_type(name, value, numbers.Real, "a number", allow_none)
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(
            f"`{name}` must be a finite number. Received: {name}={value!r}"
        )
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        raise ValueError(
            f"`{name}` must be a number {_bounds_text(minimum, maximum)}. "
            f"Received: {name}={value!r}"
        )
    return value


def check_fraction(name, value, include_one=False):
    """A float in `[0, 1)`, or `[0, 1]` with `include_one`."""
    value = check_float(name, value)
    upper_ok = value <= 1.0 if include_one else value < 1.0
    if value < 0.0 or not upper_ok:
        interval = "[0, 1]" if include_one else "[0, 1)"
        raise ValueError(
            f"`{name}` must be a float in {interval}. "
            f"Received: {name}={value!r}"
        )
    return value


def check_bool(name, value):
    """A Python bool (not an int that looks like one)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"`{name}` must be a bool. Received: {name}={value!r} of type "
            f"{type(value).__name__}"
        )
    return bool(value)


def check_choice(name, value, choices):
    """One of `choices` (compared with `==`)."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"`{name}` must be one of {tuple(choices)}. Received: "
            f"{name}={value!r}"
        )
    return value


def check_rank(name, shape, ranks, expected, hint=""):
    """The rank of `shape` is one of `ranks`; `expected` describes them."""
    shape = tuple(shape)
    ranks = (ranks,) if isinstance(ranks, int) else tuple(ranks)
    if len(shape) not in ranks:
        message = (
            f"`{name}` must have shape {expected}. Received shape {shape}."
        )
        raise ValueError(f"{message} {hint}".strip())
    return shape


def check_same_batch(**shapes):
    """All named shapes agree on their first (batch) dimension, when known.

    Example: `check_same_batch(token_ids=(2, 5), image_features=(3, 49, 8))`
    raises, naming both arguments and their shapes.
    """
    known = {
        name: tuple(shape)
        for name, shape in shapes.items()
        if shape is not None and len(shape) and shape[0] is not None
    }
    if len({shape[0] for shape in known.values()}) > 1:
        listing = ", ".join(f"{name} {shape}" for name, shape in known.items())
        raise ValueError(
            "These arguments must have the same batch size (first "
            f"dimension). Received shapes: {listing}."
        )


def check_split(split, aliases):
    """`"train"`, `"validation"` or `"test"`, given by name or by one of
    `aliases` (a dict from alias to name); returns the name."""
    names = "'train', 'validation' (or {}) or 'test'".format(
        ", ".join(repr(alias) for alias in aliases)
    )
    if not isinstance(split, str):
        raise TypeError(
            f"`split` must be a string: {names}. Received: split={split!r} "
            f"of type {type(split).__name__}"
        )
    name = aliases.get(split, split)
    if name not in ("train", "validation", "test"):
        raise ValueError(f"`split` must be {names}. Received: split={split!r}")
    return name


def check_token_id(name, value):
    """A single non-negative integer token id."""
    return check_int(name, value, minimum=0)


def concrete_values(tensor):
    """Returns the values of `tensor` as NumPy when they already exist.

    Inside a traced function (a `tf.function`, `jax.jit`, a symbolic Keras
    call) values do not exist yet and `None` is returned, so checks on values
    run for eager calls only and never break compilation.
    """
    if isinstance(tensor, (np.ndarray, np.generic)):
        return np.asarray(tensor)
    if isinstance(tensor, keras.KerasTensor):
        return None
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.executing_eagerly() and hasattr(tensor, "numpy"):
            return tensor.numpy()
        return None
    if backend == "jax":
        import jax

        if isinstance(tensor, jax.core.Tracer):
            return None
        return np.asarray(tensor)
    if backend == "torch":
        if tensor.device.type == "meta":
            return None
        return tensor.detach().cpu().numpy()
    return None


def check_token_ids(token_ids, vocabulary_size, name="token_ids"):
    """Integer ids, and when their values are known, in the vocabulary."""
    dtype = keras.backend.standardize_dtype(token_ids.dtype)
    if "int" not in dtype:
        raise TypeError(
            f"`{name}` must be an integer tensor of token ids. Received "
            f"dtype {dtype}. Convert captions with a tokenizer, or cast the "
            "ids to int32."
        )
    values = concrete_values(token_ids)
    if values is None or values.size == 0:
        return
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= vocabulary_size:
        raise ValueError(
            f"`{name}` must hold ids in [0, {vocabulary_size - 1}] "
            f"(vocabulary_size={vocabulary_size}). Received ids from {low} "
            f"to {high}."
        )


def to_numpy(value, name, expected="an array or a tensor"):
    """A NumPy array from an array, a backend tensor or (nested) lists.

    The one conversion of user arrays in the package. A list or tuple is
    stacked by NumPy (a ragged one raises a `ValueError`); anything else
    that Keras cannot convert raises a `TypeError` saying that `name` must
    be `expected`.
    """
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        try:
            return np.asarray(value)
        except ValueError as error:
            raise ValueError(
                f"`{name}` must be {expected}; a list must hold same-shaped "
                f"items. NumPy could not stack it: {error}"
            ) from None
    try:
        return keras.ops.convert_to_numpy(value)
    except Exception as error:  # noqa: BLE001 - re-raised with context
        raise TypeError(
            f"`{name}` must be {expected}. Received an object of type "
            f"{type(value).__name__}."
        ) from error


def is_tf_dataset(value):
    """Whether `value` is a `tf.data.Dataset`, without importing TensorFlow
    when the backend is another and `value` does not come from it."""
    if keras.backend.backend() != "tensorflow" and "tensorflow" not in str(
        type(value).__module__
    ):
        return False
    try:
        import tensorflow as tf
    except ImportError:
        return False
    return isinstance(value, tf.data.Dataset)


def describe(value):
    """A short description of `value` for an error message: the type and
    length of a list or array (a corpus can hold thousands of captions),
    else its repr, cut at 80 characters, and its type."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return f"a {type(value).__name__} of length {len(value)}"
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} of type {type(value).__name__}"


def check_references(references, num_images=None, list_types=(list, tuple)):
    """One non-empty list of caption strings (str) per image.

    The one check of reference captions, for the input pipelines and the
    metrics. `num_images`, when given, is the number of entries expected;
    `list_types` are the types accepted as lists. Returns `references`.
    """
    if not isinstance(references, list_types):
        raise TypeError(
            "`references` must be a list with one entry per image, each a "
            "list of reference captions (str). Received: "
            f"{describe(references)}"
        )
    if num_images is not None and len(references) != num_images:
        raise ValueError(
            "`images` and `references` must have the same length, one list "
            f"of references per image. Received {num_images} images and "
            f"{len(references)} reference lists"
        )
    for index, captions in enumerate(references):
        if not isinstance(captions, list_types):
            raise TypeError(
                "Every entry of `references` must be a list of str, the "
                "reference captions of one image (wrap a single caption in "
                f"a list). Received: references[{index}]={describe(captions)}"
            )
        if len(captions) == 0:
            raise ValueError(
                "Every image needs at least one reference caption. "
                f"Received: references[{index}]=[]"
            )
        for position, caption in enumerate(captions):
            if not isinstance(caption, str):
                raise TypeError(
                    "Every reference caption must be a str. Received: "
                    f"references[{index}][{position}]={describe(caption)}"
                )
    return references


def check_str_list(
    name, value, expected="a list of str", containers=(list, tuple, np.ndarray)
):
    """A list of str from one of `containers` (a 1-D array for NumPy); a
    string itself is refused, so that it is not split into characters.
    `expected` describes the value in the error."""
    if (
        isinstance(value, (str, bytes))
        or not isinstance(value, containers)
        or (isinstance(value, np.ndarray) and value.ndim != 1)
    ):
        raise TypeError(
            f"`{name}` must be {expected}. Received: {name}={describe(value)}"
        )
    value = list(value)
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise TypeError(
                f"`{name}` must be {expected}. Received: "
                f"{name}[{index}]={describe(item)}"
            )
    return value


def check_images_and_references(images, references):
    """`len(images)`, once `references` is known to hold one entry per
    image."""
    try:
        num_images = len(images)
    except TypeError as error:
        raise TypeError(
            "`images` must support `len()` and slicing, such as a NumPy "
            f"array. Received: images of type {type(images).__name__}"
        ) from error
    if not isinstance(references, (list, tuple)) or num_images != len(
        references
    ):
        received = (
            f"len(references)={len(references)}"
            if isinstance(references, (list, tuple))
            else f"references of type {type(references).__name__}"
        )
        raise ValueError(
            "`references` must be a list with one entry (a list of "
            f"reference captions) per image. Received: len(images)="
            f"{num_images}, {received}"
        )
    return num_images


def check_token_id_list(name, value):
    """A sorted tuple of distinct token ids, from `None` or a list of ints."""
    if value is None:
        return ()
    _check_sequence(name, value, "a list of token ids or None")
    return tuple(sorted({check_token_id(name, item) for item in value}))


def check_token_id_sequences(name, value):
    """A tuple of token-id tuples, from `None` or a list of ints and lists of
    ints (`[5, [6, 7]]` gives `((5,), (6, 7))`), duplicates dropped."""
    if value is None:
        return ()
    _check_sequence(
        name, value, "a list of token ids or of lists of token ids, or None"
    )
    sequences = []
    for item in value:
        if isinstance(item, (str, bytes)):
            raise TypeError(
                f"`{name}` must hold token ids or lists of token ids. "
                f"Received an item {item!r} in {name}={value!r}"
            )
        ids = tuple(
            check_token_id(name, token_id)
            for token_id in (item if hasattr(item, "__iter__") else [item])
        )
        if not ids:
            raise ValueError(
                f"`{name}` may not hold an empty list. "
                f"Received: {name}={value!r}"
            )
        if ids not in sequences:
            sequences.append(ids)
    return tuple(sequences)


def check_positive_float(name, value):
    """A finite number above 0."""
    value = check_float(name, value)
    if value <= 0:
        raise ValueError(
            f"`{name}` must be a positive finite number. "
            f"Received: {name}={value}"
        )
    return value


def check_probability_mass(name, value):
    """`None`, or a float in `(0, 1]`."""
    value = check_float(name, value, allow_none=True)
    if value is not None and not 0.0 < value <= 1.0:
        raise ValueError(
            f"`{name}` must be a float in (0, 1] or None. "
            f"Received: {name}={value}"
        )
    return value


# The options of the samplers of `keras_captioning.generation`, each with
# its check: `check_options(SAMPLER_OPTIONS, ...)` checks those given.
SAMPLER_OPTIONS = {
    # The decoding controls every sampler takes.
    "min_length": functools.partial(check_int, minimum=0),
    "no_repeat_ngram_size": functools.partial(check_int, minimum=0),
    "repetition_penalty": functools.partial(check_float, minimum=1.0),
    "bad_words_ids": check_token_id_sequences,
    "bad_endings_ids": check_token_id_list,
    # Beam search.
    "beam_width": check_int,
    "length_penalty": check_float,
    "return_all_beams": check_bool,
    "num_beam_groups": check_int,
    "diversity_penalty": functools.partial(check_float, minimum=0.0),
    # Sampling.
    "temperature": check_positive_float,
    "top_k": functools.partial(check_int, allow_none=True),
    "top_p": check_probability_mass,
    "seed": functools.partial(check_int, minimum=0, allow_none=True),
}

# The arguments of a sampler's call, each with its check.
SAMPLER_CALL_ARGUMENTS = {
    "start_token_id": check_token_id,
    "end_token_id": check_token_id,
    "pad_token_id": check_token_id,
    "max_length": check_int,
    "force_end_token": check_bool,
    "banned_token_ids": check_token_id_list,
}


def check_sampler_call(sampler, step_fn, initial_state, **arguments):
    """The arguments of a `sampler`'s call (`SAMPLER_CALL_ARGUMENTS`),
    checked alone and against its `min_length` and `bad_words_ids`.

    `banned_token_ids=None` bans the pad and start tokens. Returns
    `(initial_state, arguments)`, checked, the state as tensors.
    """
    if not callable(step_fn):
        raise TypeError(
            "`step_fn` must be a callable `step_fn(token_ids, state) -> "
            "(logits, new_state, extras)`. "
            f"Received: step_fn={step_fn!r}"
        )
    if arguments.get("banned_token_ids") is None:
        arguments["banned_token_ids"] = (
            arguments["pad_token_id"],
            arguments["start_token_id"],
        )
    arguments = check_options(SAMPLER_CALL_ARGUMENTS, **arguments)
    end_token_id = arguments["end_token_id"]
    if end_token_id in arguments["banned_token_ids"]:
        raise ValueError(
            "`end_token_id` may not be banned, or no caption could end. "
            f"Received: end_token_id={end_token_id}, "
            f"banned_token_ids={arguments['banned_token_ids']}"
        )
    if (end_token_id,) in sampler.bad_words_ids:
        raise ValueError(
            "`bad_words_ids` may not hold the end token, or no caption "
            f"could end. Received: end_token_id={end_token_id}, "
            f"bad_words_ids={sampler.bad_words_ids}"
        )
    force_end_token = arguments["force_end_token"]
    most_words = arguments["max_length"] - force_end_token
    if sampler.min_length > most_words:
        raise ValueError(
            "`min_length` must not exceed the words `max_length` leaves "
            f"room for ({most_words}"
            f"{' with force_end_token' if force_end_token else ''}). "
            f"Received: min_length={sampler.min_length}, "
            f"max_length={arguments['max_length']}"
        )
    return check_batch_structure("initial_state", initial_state), arguments


def check_sampler_ids(sampler, arguments, vocabulary_size):
    """Every token id of a sampler's call and options is below the
    `vocabulary_size` of the logits (when it is known)."""
    for name, ids in (
        ("end_token_id", [arguments["end_token_id"]]),
        ("pad_token_id", [arguments["pad_token_id"]]),
        ("banned_token_ids", arguments["banned_token_ids"]),
        ("bad_words_ids", sum(sampler.bad_words_ids, ())),
        ("bad_endings_ids", sampler.bad_endings_ids),
    ):
        check_below(name, ids, vocabulary_size)


def check_options(checks, **values):
    """Each of `values` checked by the check `checks` holds for its name.

    Returns the checked values, in the order given. The rules between
    sampler options (beam groups) are checked when both options are given.
    """
    checked = {
        name: checks[name](name, value) for name, value in values.items()
    }
    groups = checked.get("num_beam_groups", 1)
    if checked.get("beam_width", groups) % groups:
        raise ValueError(
            "`num_beam_groups` must divide `beam_width`. Received: "
            f"num_beam_groups={groups}, beam_width={checked['beam_width']}"
        )
    if checked.get("diversity_penalty") and groups == 1:
        raise ValueError(
            "`diversity_penalty` acts between beam groups: it needs "
            "`num_beam_groups > 1`. Received: "
            f"diversity_penalty={checked['diversity_penalty']}, "
            "num_beam_groups=1"
        )
    return checked


def check_below(name, ids, vocabulary_size):
    """Every id of `ids` is below `vocabulary_size` (when it is known)."""
    if not isinstance(vocabulary_size, int):
        return
    out_of_range = sorted({i for i in ids if i >= vocabulary_size})
    if out_of_range:
        raise ValueError(
            f"`{name}` must be smaller than the vocabulary size "
            f"{vocabulary_size} of the logits. Received ids {out_of_range}"
        )


def check_batch_structure(name, structure):
    """Tensors, each with the same leading (batch) dimension; at least one.

    Returns the structure with every leaf converted to a tensor.
    """
    if not keras.tree.flatten(structure):
        raise ValueError(
            f"`{name}` must hold at least one tensor whose leading "
            f"dimension is the batch size. Received: {name}={structure!r}"
        )
    tensors = keras.tree.map_structure(keras.ops.convert_to_tensor, structure)
    leaves = keras.tree.flatten(tensors)
    if any(len(leaf.shape) == 0 for leaf in leaves):
        raise ValueError(
            f"Every tensor of `{name}` must have the batch as leading "
            f"dimension; found a scalar. Received: {name}={structure!r}"
        )
    if len({leaf.shape[0] for leaf in leaves} - {None}) > 1:
        shapes = keras.tree.map_structure(lambda x: tuple(x.shape), tensors)
        raise ValueError(
            f"Every tensor of `{name}` must have the same leading "
            f"(batch) dimension. Received shapes: {shapes}"
        )
    return tensors


def check_step_outputs(outputs, state, rows):
    """What a sampler's `step_fn(token_ids, state)` returned, checked.

    Args:
        outputs: the returned value, expected `(logits, new_state, extras)`.
        state: the state `step_fn` received.
        rows: int or `None`, the rows of `token_ids`.

    Returns:
        `(logits, new_state, extras)` as tensors (`extras` may be `None`).
    """
    if not isinstance(outputs, (tuple, list)) or len(outputs) != 3:
        raise TypeError(
            "`step_fn` must return a tuple `(logits, new_state, extras)`. "
            f"Received: {outputs!r}"
        )
    logits, new_state, extras = outputs
    logits = keras.ops.convert_to_tensor(logits)
    if len(logits.shape) != 2 or not _same_rows(logits, rows):
        raise ValueError(
            "`step_fn` must return logits of shape (rows, "
            f"vocabulary_size) with rows={rows}. Received logits of "
            f"shape {tuple(logits.shape)}"
        )
    if not keras.backend.is_float_dtype(logits.dtype):
        raise TypeError(
            "`step_fn` must return float logits. Received logits of "
            f"dtype {keras.backend.standardize_dtype(logits.dtype)}"
        )
    try:
        keras.tree.assert_same_structure(state, new_state)
    except (TypeError, ValueError) as error:
        raise ValueError(
            "`step_fn` must return the new state with the same nested "
            "structure (same containers, same keys) as the state it "
            f"receives. Received state {state!r} and new state "
            f"{new_state!r}"
        ) from error
    new_state = keras.tree.map_structure(keras.ops.convert_to_tensor, new_state)
    for old, new in zip(
        keras.tree.flatten(state), keras.tree.flatten(new_state), strict=True
    ):
        if tuple(old.shape) != tuple(new.shape):
            raise ValueError(
                "`step_fn` must keep the shape of every state tensor. "
                f"Received a state tensor of shape {tuple(old.shape)} "
                f"returned with shape {tuple(new.shape)}"
            )
    if extras is not None:
        extras = keras.ops.convert_to_tensor(extras)
        if len(extras.shape) < 2 or not _same_rows(extras, rows):
            raise ValueError(
                "`step_fn` must return `extras` as None or a tensor of "
                f"shape (rows, ...) with rows={rows}. Received extras of "
                f"shape {tuple(extras.shape)}"
            )
    return logits, new_state, extras


def _same_rows(tensor, rows):
    return rows is None or tensor.shape[0] in (None, rows)


def _check_sequence(name, value, expected):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(
            f"`{name}` must be {expected}. Received: {name}={value!r}"
        )


def _check_number_type(name, value, kind, noun, allow_none):
    # A bool is an `int` to Python, never a number to the user.
    if isinstance(value, bool) or not isinstance(value, kind):
        raise TypeError(
            f"`{name}` must be {noun}{' or None' if allow_none else ''}. "
            f"Received: {name}={value!r} of type {type(value).__name__}"
        )


def _range_text(minimum, maximum):
    if maximum is not None:
        return f"an integer in [{minimum}, {maximum}]"
    if minimum == 1:
        return "a positive integer"
    if minimum == 0:
        return "a non-negative integer"
    return f"an integer of at least {minimum}"


def _bounds_text(minimum, maximum):
    if minimum is not None and maximum is not None:
        return f"in [{minimum}, {maximum}]"
    if minimum is not None:
        return f">= {minimum}"
    return f"<= {maximum}"
