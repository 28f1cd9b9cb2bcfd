"""The SavedModel export: captions as strings, served without Keras."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from keras_captioning.export import export_captioner
from tests.export.conftest import DEFAULT_CASES
from tests.export.conftest import MIN_DISTINCT_CAPTIONS
from tests.export.conftest import MODES
from tests.export.conftest import colour_images
from tests.export.conftest import needs_tensorflow

pytestmark = needs_tensorflow

# Runs in a fresh interpreter where importing keras or keras_captioning
# fails, so the artifact must hold everything it needs.
SERVE_WITHOUT_KERAS = r"""
import importlib.abc, importlib.machinery, json, sys

class Blocked(importlib.abc.Loader):
    def create_module(self, spec):
        raise ImportError(f"{spec.name} is blocked in this test")

    def exec_module(self, module):
        pass

class Blocker(importlib.abc.MetaPathFinder):
    # A spec without an origin: TensorFlow's lazy `tf.keras` lookup sees
    # no Keras, and importing it fails.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("keras", "keras_captioning", "tf_keras"):
            return importlib.machinery.ModuleSpec(name, Blocked())
        return None

sys.meta_path.insert(0, Blocker())
import numpy as np
import tensorflow as tf

for name in ("keras", "keras_captioning"):
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        raise AssertionError(f"{name} should not be importable here")
request = json.load(sys.stdin)
images = np.array(request["images"], "uint8")
results = {}
for name, path in request["artifacts"].items():
    served = tf.saved_model.load(path)
    signature = served.signatures["serving_default"]
    default = signature(images=tf.constant(images))
    from_bytes = served.serve_bytes(
        tf.constant([bytes.fromhex(h) for h in request["files"]])
    )
    results[name] = {
        "serve": [c.decode() for c in served.serve(images)["captions"].numpy()],
        "serving_default": [c.decode() for c in default["captions"].numpy()],
        "scores": served.serve(images)["scores"].numpy().tolist(),
        "bytes": [c.decode() for c in from_bytes["captions"].numpy()],
        "signature_inputs": sorted(
            signature.structured_input_signature[1]
        ),
        "signature_outputs": sorted(signature.structured_outputs),
        "signatures": sorted(served.signatures),
    }
print("RESULT" + json.dumps(results))
"""


def png_bytes(images):
    files = []
    for image in images:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        files.append(buffer.getvalue().hex())
    return files


def serve_in_fresh_process(artifacts, images, files):
    request = {
        "artifacts": artifacts,
        "images": images.tolist(),
        "files": files,
    }
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("PYTHONPATH", "KERAS_BACKEND")
    }
    result = subprocess.run(
        [sys.executable, "-c", SERVE_WITHOUT_KERAS],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=600,
        env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    line = [x for x in result.stdout.splitlines() if x.startswith("RESULT")]
    return json.loads(line[-1][len("RESULT") :])


def by_default(mode, strategy):
    return (mode, strategy) in DEFAULT_CASES


CASES = [
    pytest.param(
        mode,
        strategy,
        marks=() if by_default(mode, strategy) else pytest.mark.large,
    )
    for mode in MODES
    for strategy in ("greedy", "beam")
]


@pytest.fixture(scope="module")
def exported(untrained_captioners, tmp_path_factory, request):
    """Each case's export, then all served in one fresh process."""
    run_large = request.config.getoption("--run_large")
    root = tmp_path_factory.mktemp("saved_models")
    artifacts = {}
    for mode in MODES:
        captioner = untrained_captioners[mode]
        for strategy in ("greedy", "beam"):
            if not (run_large or by_default(mode, strategy)):
                continue
            # TensorFlow Serving's layout: <model name>/<version>.
            path = root / f"{mode}_{strategy}" / "1"
            captioner.export(path, strategy=strategy, beam_width=3)
            artifacts[f"{mode}/{strategy}"] = str(path)
    # At the model's image size: arrays of another size are resized by
    # Pillow on the host in `caption` but inside the graph in the artifact,
    # so their scores differ by ~1e-2 (docs/deploying.rst).
    images = colour_images(size=16, seed=3)
    served = serve_in_fresh_process(
        artifacts, images, png_bytes(colour_images(size=16, seed=4))
    )
    return artifacts, served


@pytest.mark.parametrize("mode, strategy", CASES)
def test_served_captions_match_caption(
    untrained_captioners, exported, mode, strategy
):
    captioner = untrained_captioners[mode]
    _, served = exported
    result = served[f"{mode}/{strategy}"]
    images = colour_images(size=16, seed=3)
    expected = captioner.generate(images, strategy=strategy, return_scores=True)
    captions = captioner.detokenize(expected["token_ids"])
    assert len(set(captions)) >= MIN_DISTINCT_CAPTIONS
    assert result["serve"] == captions
    assert result["serving_default"] == captions
    np.testing.assert_allclose(result["scores"], expected["scores"], atol=1e-4)
    # Encoded files are decoded inside the artifact.
    files_expected = captioner.caption(
        colour_images(size=16, seed=4), strategy=strategy
    )
    assert result["bytes"] == files_expected


def test_serving_default_signature_and_layout(exported):
    artifacts, served = exported
    path = artifacts["attention/beam"]
    # TensorFlow Serving reads <model>/<version>/saved_model.pb + variables.
    assert os.path.basename(path) == "1"
    assert os.path.isfile(os.path.join(path, "saved_model.pb"))
    assert os.path.isdir(os.path.join(path, "variables"))
    result = served["attention/beam"]
    assert result["signature_inputs"] == ["images"]
    assert result["signature_outputs"] == ["captions", "scores", "token_ids"]
    # `keras.Model.export` would serve the teacher-forced logits; this
    # artifact serves captions, from arrays and from encoded files.
    assert result["signatures"] == ["serve", "serve_bytes", "serving_default"]


def test_max_length_limits_the_served_captions(untrained_captioners, tmp_path):
    import tensorflow as tf

    captioner = untrained_captioners["init_inject"]
    images = colour_images()
    captioner.export(tmp_path / "short", max_length=2)
    served = tf.saved_model.load(str(tmp_path / "short"))
    captions = [
        text.decode() for text in served.serve(images)["captions"].numpy()
    ]
    assert captions == captioner.caption(images, max_length=2)
    assert max(len(caption.split()) for caption in captions) == 2


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"format": "pb"}, "`format` must be one of"),
        ({"strategy": "sample"}, "`strategy` must be one of"),
        ({"beam_width": 0}, "`beam_width` must be"),
        ({"max_length": 0}, "`max_length` must be"),
        ({"quantize": "int4", "format": "litert"}, "`quantize` must be"),
        ({"quantize": "dynamic"}, "applies to `format='litert'` only"),
    ],
)
def test_bad_arguments_are_refused(
    untrained_captioners, tmp_path, arguments, message
):
    with pytest.raises(ValueError, match=message):
        export_captioner(
            untrained_captioners["attention"], tmp_path / "m", **arguments
        )


def test_models_without_an_encoder_are_refused(tmp_path):
    from keras_captioning.models import ImageCaptioner

    captioner = ImageCaptioner(["a"], encoder=None, max_length=3)
    with pytest.raises(ValueError, match="encoder=None"):
        captioner.export(tmp_path / "m")
