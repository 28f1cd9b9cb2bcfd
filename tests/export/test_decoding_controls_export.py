"""Decoding controls baked into SavedModel, LiteRT and ONNX artifacts.

Each artifact runs in its real runtime (the SavedModel loader, the LiteRT
interpreter, onnxruntime) and must give the captions `caption` gives with
the same options; the options must change the captions, so an artifact
that ignored them would fail.
"""

import json

import pytest

from keras_captioning.export import FORMATS
from keras_captioning.export import captions_from_ids
from keras_captioning.export import vocabulary_path
from tests.export.conftest import MODES
from tests.export.conftest import colour_images
from tests.export.conftest import needs_tensorflow

pytestmark = needs_tensorflow

CONTROLS = {
    "greedy": dict(
        min_length=3,
        no_repeat_ngram_size=1,
        repetition_penalty=1.2,
        bad_words=["a", "on the"],
        bad_endings=True,
    ),
    "beam": dict(
        beam_width=4,
        num_beam_groups=2,
        diversity_penalty=0.5,
        no_repeat_ngram_size=2,
        bad_words=["a"],
        bad_endings=True,
    ),
}
# Every mode and format (the public list, so a new format is in the matrix
# the day it is added) with both strategies; a few run by default, the
# whole matrix with `--run_large` (each case is one export and conversion).
# (Greedy search is a beam search of width 1 in LiteRT and ONNX.) The
# default case is a SavedModel's, the cheapest export: the LiteRT and ONNX
# conversions of the other cases cost 10 to 20 s each.
FAST = {("attention", "tf_saved_model", "beam")}
CASES = [
    pytest.param(
        mode,
        format,
        strategy,
        marks=() if (mode, format, strategy) in FAST else pytest.mark.large,
    )
    for mode in MODES
    for format in FORMATS
    for strategy in ("greedy", "beam")
]


def run_artifact(format, path, images):
    """Token ids (or caption strings) from the artifact's own runtime."""
    if format == "tf_saved_model":
        import tensorflow as tf

        served = tf.saved_model.load(path)
        outputs = served.serve(tf.constant(images))
        return [c.decode() for c in outputs["captions"].numpy()]
    if format == "litert":
        interpreter_module = pytest.importorskip(
            "ai_edge_litert.interpreter", reason="needs `ai-edge-litert`"
        )
        interpreter = interpreter_module.Interpreter(model_path=str(path))
        outputs = interpreter.get_signature_runner("serve")(images=images)
        token_ids = outputs["token_ids"]
    else:
        onnxruntime = pytest.importorskip(
            "onnxruntime", reason="needs `onnxruntime`"
        )
        session = onnxruntime.InferenceSession(
            str(path), providers=["CPUExecutionProvider"]
        )
        names = [output.name for output in session.get_outputs()]
        outputs = dict(zip(names, session.run(None, {"images": images})))
        token_ids = outputs["token_ids"]
    return captions_from_ids(token_ids, vocabulary_path(path))


@pytest.mark.parametrize("mode, format, strategy", CASES)
def test_artifacts_with_controls_caption_like_caption(
    request, tmp_path, mode, format, strategy
):
    if format == "onnx":
        pytest.importorskip("tf2onnx", reason="ONNX export needs `tf2onnx`")
    if format == "litert":
        pytest.importorskip("ai_edge_litert", reason="needs `ai-edge-litert`")
    # A SavedModel computes as the captioner does, so an untrained one
    # serves; LiteRT's and ONNX's arithmetic needs the trained margins.
    fixture = (
        "untrained_captioners" if format == "tf_saved_model" else ("captioners")
    )
    captioner = request.getfixturevalue(fixture)[mode]
    options = CONTROLS[strategy]
    suffix = {"tf_saved_model": "", "litert": ".tflite", "onnx": ".onnx"}
    path = captioner.export(
        str(tmp_path / f"captioner{suffix[format]}"),
        format=format,
        strategy=strategy,
        **options,
    )
    images = colour_images(size=20, seed=8)
    served = run_artifact(format, path, images)
    expected = captioner.caption(images, strategy=strategy, **options)
    assert served == expected
    # The controls are in the artifact: they change the captions.
    assert expected != captioner.caption(images, strategy=strategy)
    for caption in expected:
        words = caption.split()
        assert "a" not in words
        if strategy == "greedy":
            assert len(words) >= 3 and len(set(words)) == len(words)
    if format != "tf_saved_model":
        with open(vocabulary_path(path)) as file:
            recorded = json.load(file)["sampler"]
        assert recorded["bad_endings_ids"]
        assert (
            recorded["no_repeat_ngram_size"]
            == (options["no_repeat_ngram_size"])
        )


def test_export_refuses_unknown_and_misplaced_options(
    untrained_captioners, tmp_path
):
    captioner = untrained_captioners["attention"]
    with pytest.raises(TypeError, match="top_p"):
        captioner.export(str(tmp_path / "a"), top_p=0.9)
    with pytest.raises(TypeError, match="num_beam_groups"):
        captioner.export(str(tmp_path / "b"), num_beam_groups=2)
    with pytest.raises(ValueError, match="zebra"):
        captioner.export(str(tmp_path / "c"), bad_words=["zebra"])
    with pytest.raises(ValueError, match="min_length=9.*max_length=7"):
        captioner.export(str(tmp_path / "d"), min_length=9)
