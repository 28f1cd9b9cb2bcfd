"""The table of conditioning modes: name -> `Conditioning` subclass."""

import inspect

import keras

_MODES = {}


def register(name):
    """Class decorator that makes a conditioning mode available by name.

    After `@register("my_mode")`, `CaptionDecoder(conditioning="my_mode")`
    builds the class, `get("my_mode")` returns an instance and `names()` lists
    it. The class is also registered for Keras serialization (package
    `"keras_captioning"`) unless it already is, so decoders that use it save
    and load.

    Args:
        name: str. The name users pass as `conditioning`.

    Returns:
        The decorator; it returns the class unchanged.

    Example:

    >>> import keras_captioning
    >>> from keras_captioning.layers import conditioning
    >>> @conditioning.register("doc_example_mode")
    ... class DocExampleMode(conditioning.InitInject):
    ...     pass
    >>> "doc_example_mode" in conditioning.names()
    True
    """
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"`name` must be a non-empty string. Received: name={name!r}"
        )

    def decorator(cls):
        from keras_captioning.layers.conditioning.conditioning import (
            Conditioning,
        )

        if not (isinstance(cls, type) and issubclass(cls, Conditioning)):
            raise TypeError(
                "`register` decorates subclasses of `Conditioning`. "
                f"Received: {cls!r}"
            )
        if keras.saving.get_registered_name(cls) == cls.__name__:
            keras.saving.register_keras_serializable("keras_captioning")(cls)
        _MODES[name] = cls
        return cls

    return decorator


def names():
    """The registered conditioning mode names, built-in modes first.

    Returns:
        Tuple of str.

    Example:

    >>> from keras_captioning.layers import conditioning
    >>> conditioning.names()[:5]
    ('init_inject', 'pre_inject', 'par_inject', 'merge', 'attention')
    """
    return tuple(_MODES)


def get(identifier, **options):
    """Returns a conditioning mode instance.

    Args:
        identifier: a registered name (str), a serialized mode (dict, as
            `keras.saving.serialize_keras_object` writes it) or a
            `Conditioning` instance (returned as it is).
        **options: keyword arguments of the mode's constructor, such as
            `attention_units=64` for `"attention"`, and of
            `keras.layers.Layer` (`name`, `dtype`). Only with a name.

    Returns:
        A `Conditioning` instance, not configured yet (`CaptionDecoder`
        configures it).

    Example:

    >>> from keras_captioning.layers import conditioning
    >>> mode = conditioning.get("attention", attention_units=8)
    >>> mode.attention_units, mode.returns_attention_scores
    (8, True)
    """
    from keras_captioning.layers.conditioning.conditioning import Conditioning

    if isinstance(identifier, Conditioning):
        if options:
            raise ValueError(
                "Options apply to a conditioning given by name; set them on "
                f"the instance instead. Received options: {sorted(options)}"
            )
        return identifier
    if isinstance(identifier, dict):
        mode = keras.saving.deserialize_keras_object(identifier)
        if not isinstance(mode, Conditioning):
            raise ValueError(
                "The dict does not describe a `Conditioning` layer. "
                f"Received: {identifier!r}"
            )
        return mode
    if not isinstance(identifier, str) or identifier not in _MODES:
        raise ValueError(
            f"`conditioning` must be one of {names()}, a `Conditioning` "
            "instance or its config. Register your own mode with "
            "`keras_captioning.layers.conditioning.register`. Received: "
            f"conditioning={identifier!r}"
        )
    mode_class = _MODES[identifier]
    unknown = sorted(set(options) - _accepted_options(mode_class))
    if unknown:
        raise ValueError(
            f"conditioning={identifier!r} does not take the options "
            f"{unknown}; they belong to other modes. Received: "
            + ", ".join(f"{key}={options[key]!r}" for key in unknown)
        )
    return mode_class(**options)


def _accepted_options(mode_class):
    """Named `__init__` arguments of the class and its bases."""
    accepted = {"name", "dtype", "trainable", "autocast"}
    for cls in mode_class.__mro__:
        if "__init__" in vars(cls) and cls is not keras.layers.Layer:
            parameters = inspect.signature(cls.__init__).parameters
            accepted.update(
                name
                for name, parameter in parameters.items()
                if parameter.kind
                in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
            )
        if cls.__name__ == "Conditioning":
            break
    accepted.discard("self")
    return accepted
