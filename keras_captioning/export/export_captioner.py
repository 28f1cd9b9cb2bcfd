import hashlib
import json
import os

import keras

from keras_captioning import _atomic
from keras_captioning import _validation
from keras_captioning.export import _converters
from keras_captioning.export import _generation
from keras_captioning.export import _saved_model

FORMATS = ("tf_saved_model", "litert", "onnx")


def export_captioner(
    captioner,
    path,
    format="tf_saved_model",
    strategy="greedy",
    beam_width=3,
    max_length=None,
    quantize=None,
    **generation_options,
):
    """Exports a captioner with its generation loop, for serving.

    Unlike `keras.Model.export`, which exports `call()` (the teacher-forced
    logits), the artifact runs the whole caption loop. It needs the
    TensorFlow backend: a model trained on JAX or PyTorch is exported by
    loading its `.keras` file under `KERAS_BACKEND=tensorflow`.

    - `"tf_saved_model"`: a SavedModel folder (for TensorFlow Serving, name
      it `<model_name>/<version>`, for example `captioner/1`). Endpoint
      `serve` (also the `serving_default` signature) takes `uint8` images
      `(batch, height, width, 3)` of any batch and size; `serve_bytes`
      takes a 1-D string tensor of encoded JPEG/PNG/BMP/GIF files. Both
      return `"captions"` (strings), `"token_ids"` and `"scores"`. It loads
      with `tf.saved_model.load` alone, without Keras.
    - `"litert"`: a `.tflite` file of built-in ops, signature `serve`:
      `images` in, `token_ids` and `scores` out.
    - `"onnx"`: an `.onnx` file (made from the `.tflite` by `tf2onnx`),
      input `images`, outputs the token ids and scores.

    LiteRT and ONNX files return ids; `<file stem>.vocabulary.json` is
    written beside them (with the file's SHA-256), `load_vocabulary`
    reads it and checks that it belongs to the file, and
    `captions_from_ids` (or a few lines of plain Python, see the docs)
    turns ids into text.

    Args:
        captioner: a built `keras_captioning.models.ImageCaptioner` that
            reads images (not `encoder=None`).
        path: str or path-like. The SavedModel folder, or the `.tflite` /
            `.onnx` file.
        format: one of `"tf_saved_model"`, `"litert"`, `"onnx"`. Defaults
            to `"tf_saved_model"`.
        strategy: `"greedy"` or `"beam"`. Defaults to `"greedy"`.
        beam_width: int. Beams kept with `strategy="beam"`. Defaults to `3`.
        max_length: int or `None`. Most words per caption; `None` uses the
            model's `max_length`.
        quantize: `None` or `"dynamic"` (LiteRT only: weights stored as
            int8, dynamic-range quantisation). Defaults to `None`.
        **generation_options: decoding controls baked into the artifact,
            as `ImageCaptioner.generate` takes them: `min_length`,
            `no_repeat_ngram_size`, `repetition_penalty`, `bad_words`,
            `bad_endings` (words, or `True`), and for `"beam"` also
            `length_penalty`, `num_beam_groups`, `diversity_penalty`. The
            artifact then gives the captions `caption` gives with the same
            options. They are recorded in the vocabulary file of LiteRT and
            ONNX artifacts.

    Returns:
        The path written, as a str.

    Example:
    >>> import tempfile, os
    >>> import numpy as np
    >>> import tensorflow as tf
    >>> captioner = keras_captioning.models.ImageCaptioner(
    ...     vocabulary=["a", "red", "circle"],
    ...     decoder={"embedding_dim": 8, "units": 8},
    ...     feature_to_sequence={"units": 8},
    ...     max_length=4,
    ...     image_size=(32, 32),
    ... )
    >>> images = np.zeros((2, 40, 40, 3), "uint8")
    >>> captions = captioner.caption(images)
    >>> same = True
    >>> if keras.backend.backend() == "tensorflow":  # other backends raise
    ...     path = os.path.join(tempfile.mkdtemp(), "captioner", "1")
    ...     _ = keras_captioning.export.export_captioner(captioner, path)
    ...     served = tf.saved_model.load(path)
    ...     outputs = served.serve(tf.constant(images))
    ...     same = [t.decode() for t in outputs["captions"].numpy()] == captions
    >>> same
    True
    """
    _validation.check_choice("format", format, FORMATS)
    _validation.check_choice("strategy", strategy, ("greedy", "beam"))
    beam_width = _validation.check_int("beam_width", beam_width)
    max_length = _validation.check_int(
        "max_length", max_length, allow_none=True
    )
    if quantize is not None:
        _validation.check_choice("quantize", quantize, ("dynamic",))
        if format != "litert":
            raise ValueError(
                "`quantize` applies to `format='litert'` only. Received: "
                f"format={format!r}, quantize={quantize!r}"
            )
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "Exporting a captioner needs the TensorFlow backend; the "
            f"current backend is {keras.backend.backend()!r}. Save the model "
            "(`captioner.save('captioner.keras')`), then load and export it "
            "in a process started with `KERAS_BACKEND=tensorflow`: "
            "`keras-captioning export captioner.keras OUTPUT`."
        )
    if captioner.encoder is None:
        raise ValueError(
            "This captioner was built with `encoder=None`: it reads "
            "precomputed features, not images, so there is nothing to "
            "serve. Put an encoder in front of its decoder first."
        )
    if not captioner.built:
        raise ValueError(
            "The captioner must be built before export: train it, load it, "
            "or call `caption` once."
        )
    if max_length is None:
        max_length = captioner.max_length
    path = os.fspath(path)
    sampler = _generation.make_sampler(
        captioner, strategy, beam_width, max_length, generation_options
    )
    caption_ids = _generation.make_caption_function(
        captioner, sampler, max_length
    )
    conditioning = captioner.decoder.conditioning
    if not isinstance(conditioning, str):
        conditioning = type(conditioning).__name__
    description = (
        f"a captioner with conditioning={conditioning!r} and "
        f"strategy={strategy!r}"
    )
    if format == "tf_saved_model":
        # Written beside `path`, then renamed over it: a kill leaves the
        # previous export intact.
        with _atomic.atomic_path(path) as temporary:
            _saved_model.write_saved_model(
                captioner, temporary, caption_ids, _image_size(captioner)
            )
        return path
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    with _atomic.atomic_path(path) as temporary:
        if format == "litert":
            flatbuffer = _converters.convert_to_litert(
                caption_ids, quantize, description
            )
            with open(temporary, "wb") as file:
                file.write(flatbuffer)
        else:
            _converters.convert_to_onnx(caption_ids, temporary, description)
        # The two files are renamed one after the other, so a kill between
        # the renames pairs one export's file with the other's vocabulary;
        # the vocabulary records its file's hash, and `load_vocabulary`
        # refuses such a pair instead of decoding ids with the wrong words.
        _write_vocabulary(
            captioner,
            path,
            strategy,
            sampler,
            max_length,
            artifact_sha256=_sha256(temporary),
        )
    return path


def vocabulary_path(path):
    """Where the vocabulary of a `.tflite` / `.onnx` file is written.

    Args:
        path: str or path-like, the artifact.

    Returns:
        str, the path of its `.vocabulary.json` file.

    Example:
    >>> keras_captioning.export.vocabulary_path("out/captioner.tflite")
    'out/captioner.vocabulary.json'
    """
    stem, _ = os.path.splitext(os.fspath(path))
    return f"{stem}.vocabulary.json"


def load_vocabulary(path):
    """Reads the vocabulary file of a LiteRT or ONNX artifact, checked.

    The file records the SHA-256 of the artifact it was written with. A
    kill in the instant between the two renames of `export`, or a file
    copied from another export, leaves a pair that would decode ids with
    the wrong words; this raises instead. A vocabulary file written before
    the hash was recorded is read unchecked.

    Args:
        path: str or path-like, the `.tflite` or `.onnx` file (not the
            vocabulary file, which sits beside it).

    Returns:
        The parsed content, a dict (for `captions_from_ids`).

    Raises:
        ValueError: the vocabulary file is missing, or belongs to another
            export.

    Example:
    >>> import json
    >>> export = keras_captioning.export
    >>> with open("captioner.tflite", "wb") as file:
    ...     _ = file.write(b"a flatbuffer")
    >>> with open(export.vocabulary_path("captioner.tflite"), "w") as file:
    ...     json.dump({"vocabulary": ["<pad>"], "artifact_sha256": "0" * 64},
    ...               file)
    >>> export.load_vocabulary("captioner.tflite")
    Traceback (most recent call last):
    ...
    ValueError: captioner.vocabulary.json was written with another export
    than captioner.tflite ...
    """
    path = os.fspath(path)
    vocabulary_file = vocabulary_path(path)
    if not os.path.isfile(vocabulary_file):
        raise ValueError(
            f"{vocabulary_file}: no vocabulary file beside {path} (export "
            "writes `<file stem>.vocabulary.json` next to a LiteRT or ONNX "
            "file; copy both together)."
        )
    with open(vocabulary_file, encoding="utf-8") as file:
        content = json.load(file)
    recorded = content.get("artifact_sha256")
    if recorded is not None and recorded != _sha256(path):
        raise ValueError(
            f"{vocabulary_file} was written with another export than {path} "
            "(its recorded SHA-256 does not match the file: an export killed "
            "between writing the two, or files copied from different "
            "exports). Export the model again."
        )
    return content


def captions_from_ids(token_ids, vocabulary):
    """Turns the token ids of a LiteRT or ONNX artifact into captions.

    Args:
        token_ids: integer array `(batch, length)`.
        vocabulary: the path of the `.vocabulary.json` file written beside
            the artifact, or its parsed content (a dict).

    Returns:
        A list of str, one per row.

    Example:
    >>> vocabulary = {"vocabulary": ["<pad>", "<start>", "<end>", "<unk>",
    ...     "a", "red", "circle"], "pad_id": 0, "end_id": 2}
    >>> keras_captioning.export.captions_from_ids(
    ...     [[4, 5, 6, 2, 0], [4, 6, 2, 0, 0]], vocabulary
    ... )
    ['a red circle', 'a circle']
    """
    if not isinstance(vocabulary, dict):
        with open(vocabulary, encoding="utf-8") as file:
            vocabulary = json.load(file)
    words = vocabulary["vocabulary"]
    captions = []
    for row in token_ids:
        kept = []
        for token_id in [int(value) for value in row]:
            if token_id == vocabulary["end_id"]:
                break
            if token_id != vocabulary["pad_id"]:
                kept.append(words[token_id])
        captions.append(" ".join(kept))
    return captions


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_vocabulary(
    captioner, path, strategy, sampler, max_length, artifact_sha256
):
    tokenizer = captioner.tokenizer
    content = {
        "vocabulary": list(tokenizer.vocabulary),
        "pad_id": tokenizer.pad_id,
        "end_id": tokenizer.end_id,
        "strategy": strategy,
        "beam_width": sampler.beam_width if strategy == "beam" else 1,
        "sampler": sampler.get_config(),
        "max_length": max_length,
        "image_size": _image_size(captioner),
        "artifact_sha256": artifact_sha256,
    }
    _atomic.write_text(vocabulary_path(path), json.dumps(content, indent=1))


def _image_size(captioner):
    """The `(height, width)` the model reads, or `None` when it varies."""
    size = captioner.preprocessor.target_size
    return None if size is None else [int(size[0]), int(size[1])]
