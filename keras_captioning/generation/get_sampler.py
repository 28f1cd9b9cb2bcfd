import inspect
import warnings

from keras_captioning.generation._words import word_controls
from keras_captioning.generation.beam_sampler import BeamSampler
from keras_captioning.generation.greedy_sampler import GreedySampler
from keras_captioning.generation.random_sampler import RandomSampler
from keras_captioning.generation.sampler import Sampler

SAMPLERS = {
    "greedy": GreedySampler,
    "beam": BeamSampler,
    "sample": RandomSampler,
}


def get_sampler(strategy, vocabulary=None, max_length=None, **options):
    """Returns a sampler from its name, its config, or the sampler itself.

    The one way the library turns generation options into a sampler (the
    model, `export` and the command call it), so an option means the same
    everywhere.

    Args:
        strategy: `"greedy"`, `"beam"` or `"sample"`; a config dict
            `{"class_name": ..., "config": {...}}` whose class name is one
            of those names or a sampler class name (`"BeamSampler"`) and
            whose config is a sampler's `get_config()`; or a `Sampler`
            instance, returned unchanged.
        vocabulary: `None` or a list of str, the token of each id. Needed
            for the word options `bad_words` and `bad_endings` (see
            `keras_captioning.generation.word_controls`), which become
            `bad_words_ids` and `bad_endings_ids`. Defaults to `None`.
        max_length: `None` or int, the most words per caption; when given,
            `min_length` may not exceed it. Defaults to `None`.
        **options: the named sampler's constructor arguments
            (`beam_width=5`, `temperature=0.8`, the decoding controls),
            added to a config dict's config; not allowed with an instance.

    Returns:
        A `Sampler`.

    Example:
    >>> get_sampler = keras_captioning.generation.get_sampler
    >>> sampler = get_sampler("beam", beam_width=5)
    >>> sampler.beam_width
    5
    >>> get_sampler(sampler) is sampler
    True
    >>> config = {"class_name": "BeamSampler", "config": sampler.get_config()}
    >>> get_sampler(config).get_config() == sampler.get_config()
    True
    >>> get_sampler(
    ...     "greedy", vocabulary=["<pad>", "<start>", "<end>", "a", "red"],
    ...     bad_words=["red"],
    ... ).bad_words_ids
    ((4,),)
    """
    if isinstance(strategy, Sampler):
        if options:
            raise ValueError(
                "Options can only be given with a sampler name; this "
                f"sampler is already configured. Received: "
                f"strategy={strategy!r}, options={options}"
            )
        return strategy
    name, sampler_class, config = _resolve(strategy)
    duplicated = sorted(set(config) & set(options))
    if duplicated:
        raise ValueError(
            f"Options {duplicated} are both in the config and given as "
            f"keywords. Received: strategy={strategy!r}, options={options}"
        )
    options = _translate_words(vocabulary, {**config, **options})
    # A subclass that repeats the base's options lists each once.
    accepted = list(
        dict.fromkeys(
            option
            for cls in (sampler_class, Sampler)
            for option in inspect.signature(cls).parameters
            if option not in ("self", "args", "kwargs", "controls")
        )
    )
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise TypeError(
            f"Unknown option(s) {unknown} for the {name!r} strategy. Its "
            f"options are {accepted or 'none'}. Received: options={options}"
        )
    sampler = sampler_class(**options)
    if max_length is not None and sampler.min_length > max_length:
        raise ValueError(
            "`min_length` may not exceed `max_length`: no caption could be "
            f"long enough. Received: min_length={sampler.min_length}, "
            f"max_length={max_length}"
        )
    return sampler


def get(identifier, **options):
    """Deprecated alias of `get_sampler`, kept for one release.

    Example:
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     sampler = keras_captioning.generation.get("beam", beam_width=5)
    >>> sampler.beam_width
    5
    """
    warnings.warn(
        "`keras_captioning.generation.get` is deprecated and will be "
        "removed in the next release; use "
        "`keras_captioning.generation.get_sampler`.",
        DeprecationWarning,
        stacklevel=2,
    )
    return get_sampler(identifier, **options)


def _resolve(strategy):
    """`(name, class, config)` of a strategy name or config dict."""
    config = {}
    if isinstance(strategy, dict):
        if set(strategy) - {"class_name", "config"} or not isinstance(
            strategy.get("config", {}), dict
        ):
            raise ValueError(
                "A sampler config must be a dict `{'class_name': ..., "
                f"'config': {{...}}}}`. Received: strategy={strategy!r}"
            )
        config = strategy.get("config", {})
        by_class = {cls.__name__: name for name, cls in SAMPLERS.items()}
        strategy = by_class.get(
            strategy.get("class_name"), strategy.get("class_name")
        )
    if isinstance(strategy, str):
        if strategy not in SAMPLERS:
            raise ValueError(
                f"Unknown sampler {strategy!r}. Expected one of "
                f"{sorted(SAMPLERS)}, a sampler config or a `Sampler` "
                f"instance. Received: strategy={strategy!r}"
            )
        return strategy, SAMPLERS[strategy], config
    raise TypeError(
        f"A sampler must be one of {sorted(SAMPLERS)}, a sampler config or "
        f"a `Sampler` instance. Received: strategy={strategy!r} of type "
        f"{type(strategy).__name__}"
    )


def _translate_words(vocabulary, options):
    """`bad_words` and `bad_endings` (words) replaced by token ids."""
    words = {}
    for name in ("bad_words", "bad_endings"):
        if name in options and f"{name}_ids" in options:
            raise ValueError(
                f"Pass `{name}` (words) or `{name}_ids` (token ids), not both."
            )
        if name in options:
            words[name] = options.pop(name)
    if words and vocabulary is None:
        raise ValueError(
            f"Word options {sorted(words)} need the `vocabulary` that turns "
            "them into token ids. Received: vocabulary=None"
        )
    if words:
        translated = word_controls(vocabulary, **words).items()
        options.update({k: v for k, v in translated if v is not None})
    return options
