"""`ImageCaptioner.fit` resumes with `keras.callbacks.BackupAndRestore`.

The training runs in a fresh process (`_backup_and_restore_run.py`) that is
ended by SIGKILL, the signal no Python code can catch, at a chosen point;
the same command then runs again. The resumed run must start at the epoch
after the last backup, with the optimizer state of that moment (its step
count), and end where an uninterrupted run of the same seed ends.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys

import pytest

import keras_captioning

PACKAGE_ROOT = pathlib.Path(keras_captioning.__file__).resolve().parents[1]
SCRIPT = pathlib.Path(__file__).with_name("_backup_and_restore_run.py")
sys.path.insert(0, str(SCRIPT.parent))
import _backup_and_restore_run as run  # noqa: E402

pytestmark = pytest.mark.backend_independent

STEPS_PER_EPOCH = run.NUM_EXAMPLES // run.BATCH_SIZE


def run_script(*arguments):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join(
        path for path in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if path
    )
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, arguments)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def resumed_facts(backup_dir, *arguments):
    killed = run_script(backup_dir, *arguments)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    # The same command again, without the kill.
    options = dict(zip(arguments[::2], arguments[1::2]))
    options.pop("--kill-after-epoch", None)
    options.pop("--kill-after-step", None)
    resumed = run_script(backup_dir, *[a for o in options.items() for a in o])
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    facts = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert pathlib.Path(facts["package"]).resolve().parents[1] == PACKAGE_ROOT
    return facts


@pytest.fixture(scope="module")
def uninterrupted():
    return run.train(backup_dir=None)


@pytest.mark.large
def test_resumes_after_the_last_epoch_backup(tmp_path, uninterrupted):
    # Killed after 3 of 5 epochs (60%), each of which wrote a backup.
    facts = resumed_facts(tmp_path / "backup", "--kill-after-epoch", 3)
    assert facts["epochs"] == [3, 4]
    # The optimizer state came back: Adam's step count, with its moments.
    assert facts["start_iterations"] == 3 * STEPS_PER_EPOCH
    assert facts["end_iterations"] == uninterrupted["end_iterations"]
    # Same weights, same optimizer state, same batches: the resumed run
    # retraces the uninterrupted one (2% is the target; on one CPU
    # the two agree to float32 rounding).
    assert facts["val_loss"] == pytest.approx(
        uninterrupted["val_loss"][3:], rel=0.02
    )
    assert facts["final_val_loss"] == pytest.approx(
        uninterrupted["final_val_loss"], rel=0.02
    )


# Step backups go through the same resume as epoch backups (above).
@pytest.mark.large
def test_save_freq_resumes_from_the_last_step_backup(tmp_path, uninterrupted):
    # Backups every 4 steps; killed after step 10 of 30 (epoch 2, batch 4):
    # the last backup is after step 8 (epoch 2, batch 2).
    save_freq, killed_at = 4, 10
    facts = resumed_facts(
        tmp_path / "backup",
        "--save-freq",
        save_freq,
        "--kill-after-step",
        killed_at,
    )
    last_backup = killed_at // save_freq * save_freq
    assert killed_at - last_backup < save_freq
    # The weights and optimizer state of the last backup come back, so at
    # most `save_freq - 1` finished steps are lost ...
    assert facts["start_iterations"] == last_backup
    # ... but Keras 3.15's BackupAndRestore restarts the epoch of that
    # backup from its first batch (it records the batch and does not skip
    # to it), so the batches of that epoch before the backup are trained on
    # twice: less than one epoch of extra work.
    epoch_of_backup = last_backup // STEPS_PER_EPOCH
    assert facts["epochs"] == list(range(epoch_of_backup, run.EPOCHS))
    repeated = facts["end_iterations"] - uninterrupted["end_iterations"]
    assert repeated == last_backup - epoch_of_backup * STEPS_PER_EPOCH
    assert 0 <= repeated < STEPS_PER_EPOCH
    assert facts["final_val_loss"] == pytest.approx(
        uninterrupted["final_val_loss"], rel=0.02
    )
