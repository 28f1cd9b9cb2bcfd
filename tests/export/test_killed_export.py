"""A LiteRT / ONNX export killed with SIGKILL leaves a usable pair of files.

The artifact and its `.vocabulary.json` are two files renamed one after the
other. After each kill the artifact at the path must load in its own
runtime and give exactly the outputs of one of the two clean exports, and
`load_vocabulary` must either accept the vocabulary beside it or refuse the
pair with its error; never a silent mismatch.
"""

import json
import os
import random

import numpy as np
import pytest

from keras_captioning.export import load_vocabulary
from keras_captioning.export import vocabulary_path
from tests.export.conftest import needs_tensorflow
from tests.models.test_atomic_save import kill_while_writing
from tests.models.test_atomic_save import run

pytestmark = needs_tensorflow

FILE_NAMES = {"litert": "captioner.tflite", "onnx": "captioner.onnx"}


def run_artifact(format, path, images):
    if format == "litert":
        interpreter = pytest.importorskip("ai_edge_litert.interpreter")
        runner = interpreter.Interpreter(model_path=str(path))
        outputs = runner.get_signature_runner("serve")(images=images)
        return outputs["token_ids"], outputs["scores"]
    onnxruntime = pytest.importorskip("onnxruntime")
    session = onnxruntime.InferenceSession(
        str(path), providers=["CPUExecutionProvider"]
    )
    outputs = dict(
        zip(
            [output.name for output in session.get_outputs()],
            session.run(None, {"images": images}),
        )
    )
    return outputs["token_ids"], outputs["scores"]


def same_outputs(first, second):
    return np.array_equal(first[0], second[0]) and np.allclose(
        first[1], second[1], atol=1e-5
    )


def export_both(format, folder):
    """Exports the models of seed 0 and 1 to their own paths."""
    pytest.importorskip("tf2onnx" if format == "onnx" else "ai_edge_litert")
    paths = []
    for seed in (0, 1):
        path = folder / f"seed{seed}" / FILE_NAMES[format]
        run.make_captioner(seed=seed).export(path, format=format)
        paths.append(path)
    return paths


# The pairing code is the same for both formats, so LiteRT's case stands
# for ONNX's; ONNX's pairs are refused in the kill test below (large).
def test_a_vocabulary_from_another_export_is_refused(tmp_path):
    old_path, new_path = export_both("litert", tmp_path)
    # Same words, same sampler: only the recorded hash tells them apart.
    with open(vocabulary_path(old_path)) as file:
        old_vocabulary = json.load(file)
    with open(vocabulary_path(new_path)) as file:
        new_vocabulary = json.load(file)
    assert old_vocabulary["vocabulary"] == new_vocabulary["vocabulary"]
    assert load_vocabulary(new_path) == new_vocabulary
    with open(vocabulary_path(new_path), "w") as file:
        json.dump(old_vocabulary, file)
    with pytest.raises(ValueError, match="written with another export"):
        load_vocabulary(new_path)


@pytest.mark.slow
# Processes killed while they export: the large tier, five kills of each
# format (the first at the point a single-kill case would choose).
@pytest.mark.large
@pytest.mark.parametrize("format, kills", [("litert", 5), ("onnx", 5)])
def test_random_kills_leave_a_whole_matching_pair(tmp_path, format, kills):
    old_path, new_path = export_both(format, tmp_path / "clean")
    images = np.random.default_rng(0).integers(
        0, 256, (4, 16, 16, 3), dtype="uint8"
    )
    clean = [run_artifact(format, p, images) for p in (old_path, new_path)]
    assert not same_outputs(*clean), "the two models must differ"

    path = tmp_path / "target" / FILE_NAMES[format]
    run.make_captioner(seed=0).export(path, format=format)
    rng = random.Random(22)
    refused = 0
    for _ in range(kills):
        kill_while_writing(format, path, rng.uniform(0.0, 5.0))
        outputs = run_artifact(format, path, images)
        assert any(same_outputs(outputs, c) for c in clean), (
            "the file at the path is neither export"
        )
        try:
            load_vocabulary(path)
        except ValueError as error:
            # A kill between the two renames: refused, not decoded wrongly.
            assert "written with another export" in str(error)
            refused += 1
    print(f"{refused} of {kills} kills left a pair load_vocabulary refused")
    # The next export clears the killed ones' temporaries and pairs again.
    run.make_captioner(seed=0).export(path, format=format)
    assert same_outputs(run_artifact(format, path, images), clean[0])
    assert load_vocabulary(path)["artifact_sha256"]
    assert not [n for n in os.listdir(path.parent) if n.startswith(".")]
