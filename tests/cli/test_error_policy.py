"""Every subcommand's user errors: one line on stderr, the documented exit
code, no traceback; `--help` starts neither Keras nor TensorFlow.

Most cases run `keras_captioning.cli.main` in this process; the ones that
are about the process itself (imports, TensorFlow's start-up logging, the
ImageNet download) run the real command in a fresh interpreter.
"""

import json
import os
import re
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from keras_captioning import cli
from keras_captioning.cli import _errors
from keras_captioning.cli.main import build_parser
from tests.cli._tiny_captioner import save_tiny_captioner

PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SUBCOMMANDS = ("caption", "evaluate", "train", "export")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """An untrained tiny captioner, two images, a Karpathy file, bad files."""
    root = tmp_path_factory.mktemp("policy")
    model = save_tiny_captioner(
        root / "captioner.keras", ["red", "blue", "square"]
    )
    images = root / "images"
    images.mkdir()
    records = []
    for index, split in enumerate(("train", "val", "test")):
        name = f"{index}.png"
        Image.fromarray(np.full((16, 16, 3), 40 * index, "uint8")).save(
            images / name
        )
        records.append(
            {
                "filename": name,
                "split": split,
                "sentences": [{"raw": "a red square"}],
            }
        )
    split_file = root / "dataset.json"
    split_file.write_text(json.dumps({"images": records}))
    not_json = root / "not_json.json"
    not_json.write_text("this is not JSON {")
    not_a_model = root / "not_a_model.keras"
    not_a_model.write_text("not a zip file")
    return {
        "root": root,
        "model": str(model),
        "images": str(images),
        "split": str(split_file),
        "not_json": str(not_json),
        "not_a_model": str(not_a_model),
        "missing": str(root / "missing"),
    }


def run_in_process(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as exit_info:  # argparse's own errors
        code = exit_info.code
    return code, capsys.readouterr().err


def assert_one_error_line(stderr, command, lines=1):
    assert "Traceback" not in stderr, stderr
    printed = stderr.strip().splitlines()
    assert 1 <= len(printed) <= lines, stderr
    assert printed[-1].startswith(f"keras-captioning {command}: error: ")


TRAIN_TINY = [
    "--encoder=simple_cnn",
    "--image-size=16",
    "--epochs=1",
    "--min-count=1",
    "--units=8",
    "--embedding-dim=4",
    "--feature-units=8",
    "--verbose=0",
]

# (argv, exit code): a wrong path, then a wrong file form, per subcommand.
CASES = {
    "caption": [
        (["caption", "{missing}.keras", "{images}"], 2),
        (["caption", "{not_a_model}", "{images}"], 2),
        (["caption", "{model}", "{root}"], 2),  # a folder without images
    ],
    "evaluate": [
        (["evaluate", "{missing}.keras", "--karpathy-json={split}",
          "--image-dir={images}"], 2),
        (["evaluate", "{model}", "--karpathy-json={split}",
          "--image-dir={missing}"], 2),
        (["evaluate", "{model}", "--karpathy-json={missing}.json",
          "--image-dir={images}"], 2),
        (["evaluate", "{not_a_model}", "--karpathy-json={split}",
          "--image-dir={images}"], 2),
        (["evaluate", "{model}", "--karpathy-json={not_json}",
          "--image-dir={images}"], 2),
    ],
    "train": [
        (["train", "--karpathy-json={split}", "--image-dir={missing}",
          "--output-dir={root}/out", *TRAIN_TINY], 2),
        (["train", "--karpathy-json={missing}.json", "--image-dir={images}",
          "--output-dir={root}/out", *TRAIN_TINY], 2),
        (["train", "--flickr8k-text-dir={missing}", "--image-dir={images}",
          "--output-dir={root}/out", *TRAIN_TINY], 2),
        (["train", "--karpathy-json={not_json}", "--image-dir={images}",
          "--output-dir={root}/out", *TRAIN_TINY], 2),
        (["train", "--karpathy-json={split}", "--image-dir={images}",
          "--encoder=no_such_net", *TRAIN_TINY[1:]], 2),
        (["train", "--karpathy-json={split}", "--image-dir={images}",
          "--conditioning=merge", "--attention-regularization=0.1",
          "--output-dir={root}/out", *TRAIN_TINY], 2),
    ],
    "export": [
        (["export", "{missing}.keras", "{root}/served"], 2),
        (["export", "{not_a_model}", "{root}/served"], 2),
        (["export", "{model}", "{root}/m.onnx", "--quantize=dynamic"], 2),
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    "argv, code",
    [case for command in SUBCOMMANDS for case in CASES[command]],
    ids=lambda value: str(value)[:60] if isinstance(value, list) else None,
)
def test_user_errors_are_one_line_with_the_documented_code(
    files, argv, code, capsys
):
    argv = [arg.format(**files) for arg in argv]
    actual, stderr = run_in_process(argv, capsys)
    assert actual == code, stderr
    assert_one_error_line(stderr, argv[0])


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_bad_options_are_one_line_with_code_2(command, capsys):
    code, stderr = run_in_process([command, "--no-such-option"], capsys)
    assert code == cli.EXIT_USAGE
    assert_one_error_line(stderr, command)
    assert f"see keras-captioning {command} --help" in stderr


def test_debug_prints_the_traceback_then_the_line(files, capsys):
    argv = [
        "train",
        f"--karpathy-json={files['split']}",
        f"--image-dir={files['missing']}",
        "--debug",
        *TRAIN_TINY,
    ]
    code, stderr = run_in_process(argv, capsys)
    assert code == cli.EXIT_USAGE
    assert "Traceback (most recent call last)" in stderr
    assert (
        stderr.strip()
        .splitlines()[-1]
        .startswith("keras-captioning train: error: ")
    )


def test_policy_codes_for_each_kind_of_error(capsys):
    def raising(error):
        def run(args):
            raise error

        return run

    # The public codes have the values the command's documentation gives.
    assert (cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE) == (0, 1, 2)
    assert cli.EXIT_INTERRUPTED == 130  # 128 + SIGINT, as shells report it
    cases = [
        (_errors.UsageError("bad option"), cli.EXIT_USAGE, "bad option"),
        (_errors.DataError("bad data"), cli.EXIT_FAILED, "bad data"),
        (
            ValueError("a\nmultiline\n  message"),
            cli.EXIT_FAILED,
            "a multiline message",
        ),
        (
            RuntimeError("boom"),
            cli.EXIT_FAILED,
            "RuntimeError: boom (--debug prints",
        ),
        (
            KeyboardInterrupt(),
            cli.EXIT_INTERRUPTED,
            "keras-captioning: interrupted",
        ),
    ]
    for error, code, text in cases:
        assert _errors.run_subcommand("train", raising(error), None) == code
        stderr = capsys.readouterr().err
        assert len(stderr.strip().splitlines()) == 1
        assert text in stderr


def test_every_option_shows_its_default():
    parser = build_parser()
    subparsers = next(
        action
        for action in parser._actions
        if hasattr(action, "choices") and isinstance(action.choices, dict)
    )
    for name in SUBCOMMANDS:
        subparser = subparsers.choices[name]
        required_groups = {
            id(action)
            for group in subparser._mutually_exclusive_groups
            if group.required
            for action in group._group_actions
        }
        formatter = subparser._get_formatter()
        for action in subparser._actions:
            if (
                not action.option_strings
                or action.required
                or id(action) in required_groups
                or action.dest == "help"
            ):
                continue
            text = " ".join(formatter._expand_help(action).split())
            # One "default: VALUE" closed by ")" or ";" ("no default" or a
            # bare "default" would not do), and VALUE is the real default.
            [shown] = re.findall(r"\bdefault: ([^;)]*)[;)]", text)
            where = (name, action.option_strings, text)
            if action.default is None:
                # Said in words: "off", "none", "the model's own limit".
                assert shown and shown != "None", where
            elif action.default is False:
                assert shown in ("False", "off"), where
            else:
                assert shown == str(action.default), where


# ------------------------------------------------ fresh interpreters


def fresh_env(**extra):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS")
        and "proxy" not in key.lower()
    }
    env["PYTHONPATH"] = PACKAGE_ROOT
    env.update(extra)
    return env


def run_command(args, env=None, python_options=()):
    return subprocess.run(
        [sys.executable, *python_options, "-m", "keras_captioning.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env=env or fresh_env(),
        cwd=PACKAGE_ROOT,
    )


def imported_modules(importtime_stderr):
    return {
        line.rsplit("|", 1)[-1].strip()
        for line in importtime_stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize(
    "args, code",
    [
        (["--help"], 0),
        (["train", "--help"], 0),
        (["caption", "m.keras", "x.png", "--beam-width=0"], 2),
    ],
)
def test_help_and_parse_errors_import_no_tensorflow(args, code):
    result = run_command(args, python_options=("-X", "importtime"))
    assert result.returncode == code, result.stderr[-2000:]
    modules = imported_modules(result.stderr)
    assert "keras_captioning.cli.main" in modules
    heavy = {m for m in modules if m.split(".")[0] in ("tensorflow", "keras")}
    assert not heavy, sorted(heavy)[:5]
    other = [
        line
        for line in result.stderr.splitlines()
        if not line.startswith("import time:")
    ]
    assert len(other) == (0 if code == 0 else 1), other
    if code == 0:
        assert result.stdout.startswith("usage: keras-captioning")


def test_console_script_help_leaves_tensorflow_out_of_sys_modules():
    # What the installed `keras-captioning` script does, then a look at
    # `sys.modules` in the same process.
    script = (
        "import sys\n"
        "sys.argv = ['/usr/bin/keras-captioning', '--help']\n"
        "from keras_captioning.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in sys.modules\n"
        "         if m.split('.')[0] in ('tensorflow', 'keras', 'jax')]\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=600,
        env=fresh_env(),
        cwd=PACKAGE_ROOT,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage: keras-captioning" in result.stdout
    assert "HEAVY []" in result.stdout
    assert result.stderr == ""


def closed_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once it is closed


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="one backend is enough for a process-level check",
)
def test_imagenet_offline_is_one_or_two_lines_and_no_tensorflow_noise(
    files, tmp_path
):
    # An empty Keras cache, and every URL fetched through a proxy on a
    # closed local port: the download fails at once, without a network.
    proxy = f"http://127.0.0.1:{closed_port()}"
    env = fresh_env(
        KERAS_HOME=str(tmp_path / "keras_home"),
        HTTP_PROXY=proxy,
        HTTPS_PROXY=proxy,
        http_proxy=proxy,
        https_proxy=proxy,
    )
    result = run_command(
        [
            "train",
            f"--karpathy-json={files['split']}",
            f"--image-dir={files['images']}",
            f"--output-dir={tmp_path / 'out'}",
            "--encoder=mobilenet_v3_small",
            "--encoder-weights=imagenet",
            "--min-count=1",
            "--epochs=1",
        ],
        env=env,
    )
    assert result.returncode == cli.EXIT_FAILED, result.stderr[-3000:]
    # The first line of stdout is the split summary; stderr holds only the
    # error, no TensorFlow, oneDNN or CUDA line.
    assert_one_error_line(result.stderr, "train", lines=2)
    assert "could not be downloaded" in result.stderr
    assert "Keras cache" in result.stderr
