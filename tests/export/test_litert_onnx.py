"""LiteRT and ONNX artifacts: token ids and scores, vocabulary beside."""

import json
import os

import numpy as np
import pytest

from keras_captioning.export import captions_from_ids
from keras_captioning.export import vocabulary_path
from tests.export.conftest import DEFAULT_CASES
from tests.export.conftest import MIN_DISTINCT_CAPTIONS
from tests.export.conftest import MODES
from tests.export.conftest import colour_images
from tests.export.conftest import needs_tensorflow

pytestmark = needs_tensorflow

CASES = [
    pytest.param(
        mode,
        strategy,
        marks=() if (mode, strategy) in DEFAULT_CASES else pytest.mark.large,
    )
    for mode in MODES
    for strategy in ("greedy", "beam")
]


def run_litert(path, images):
    interpreter_module = pytest.importorskip(
        "ai_edge_litert.interpreter",
        reason="the LiteRT interpreter comes with `ai-edge-litert` "
        "(pip install keras-captioning[export])",
    )
    interpreter = interpreter_module.Interpreter(model_path=str(path))
    return interpreter.get_signature_runner("serve")(images=images)


def run_onnx(path, images):
    onnxruntime = pytest.importorskip(
        "onnxruntime",
        reason="ONNX artifacts run with `onnxruntime` "
        "(pip install keras-captioning[export])",
    )
    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]
    )
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, {"images": images})))


def check_same_captions(captioner, path, outputs, images, strategy):
    expected = captioner.generate(images, strategy=strategy, return_scores=True)
    captions = captions_from_ids(outputs["token_ids"], vocabulary_path(path))
    assert captions == captioner.detokenize(expected["token_ids"])
    assert len(set(captions)) >= MIN_DISTINCT_CAPTIONS
    np.testing.assert_allclose(outputs["scores"], expected["scores"], atol=1e-4)


@pytest.mark.parametrize("mode, strategy", CASES)
def test_litert_captions_match_caption(captioners, tmp_path, mode, strategy):
    pytest.importorskip("ai_edge_litert", reason="needs `ai-edge-litert`")
    captioner = captioners[mode]
    path = captioner.export(
        tmp_path / "captioner.tflite", format="litert", strategy=strategy
    )
    # A batch size the export never saw.
    # At the model's image size: arrays of another size are resized by
    # Pillow on the host in `caption` but inside the graph in the artifact,
    # so their scores differ by ~1e-2 (docs/deploying.rst).
    images = colour_images(size=16, seed=5)
    outputs = run_litert(path, images)
    check_same_captions(captioner, path, outputs, images, strategy)
    assert os.path.basename(vocabulary_path(path)) == (
        "captioner.vocabulary.json"
    )
    with open(vocabulary_path(path)) as file:
        vocabulary = json.load(file)
    assert vocabulary["vocabulary"] == captioner.vocabulary
    assert vocabulary["strategy"] == strategy
    assert vocabulary["image_size"] == [16, 16]


def test_litert_dynamic_range_quantisation(captioners, tmp_path):
    pytest.importorskip("ai_edge_litert", reason="needs `ai-edge-litert`")
    captioner = captioners["attention"]
    float_path = captioner.export(tmp_path / "f.tflite", format="litert")
    int8_path = captioner.export(
        tmp_path / "q.tflite", format="litert", quantize="dynamic"
    )
    assert os.path.getsize(int8_path) < os.path.getsize(float_path)
    images = colour_images(seed=6)
    outputs = run_litert(int8_path, images)
    captions = captions_from_ids(
        outputs["token_ids"], vocabulary_path(int8_path)
    )
    # int8 weights change the logits a little; this model's margins are
    # wide enough that the captions survive.
    assert captions == captioner.caption(images)


@pytest.mark.parametrize(
    "mode, strategy",
    [
        pytest.param(
            mode,
            strategy,
            marks=()
            if (mode, strategy) in DEFAULT_CASES
            else pytest.mark.large,
        )
        for mode in MODES
        for strategy in ("greedy", "beam")
    ],
)
def test_onnx_captions_match_caption(captioners, tmp_path, mode, strategy):
    pytest.importorskip("tf2onnx", reason="ONNX export needs `tf2onnx`")
    captioner = captioners[mode]
    path = captioner.export(
        tmp_path / "captioner.onnx", format="onnx", strategy=strategy
    )
    images = colour_images(size=16, seed=7)
    outputs = run_onnx(path, images)
    check_same_captions(captioner, path, outputs, images, strategy)


def test_captions_from_ids_stops_at_the_end_token():
    vocabulary = {
        "vocabulary": ["<pad>", "<start>", "<end>", "<unk>", "a", "b"],
        "pad_id": 0,
        "end_id": 2,
    }
    ids = np.array([[4, 5, 2, 4, 0], [2, 0, 0, 0, 0], [5, 5, 5, 5, 5]])
    assert captions_from_ids(ids, vocabulary) == ["a b", "", "b b b b b"]
