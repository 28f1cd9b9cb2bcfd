"""Does self-critical training raise the reward for every conditioning mode?

    KERAS_BACKEND=jax python benchmarks/self_critical_modes.py --seeds 0 1 2

For every registered conditioning mode (the registry, so a new mode is
covered the day it is added) and seed: a tiny captioner (dropout 0.5) on
four random 16x16 images, trained by `fit_self_critical` with Adam for
`--epochs` epochs on a reward the untrained model rarely earns, the share
of the word "red" in a caption. Prints the mean reward of the first and the
last epoch per run, and whether it rose by more than 0.2; exits 1 if any
run did not. `tests/models/test_self_critical.py` runs the attention mode
on each backend; this script covers the rest. At the default Adam 0.01 a
few runs end where no sample is rewarded, every advantage is 0 and no
update moves a weight; docs/self_critical.rst says what takes the toy
there, and gives the table at `--learning-rate 0.003 --epochs 30`.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_captioning  # noqa: E402
from keras_captioning.layers import conditioning  # noqa: E402

VOCABULARY = ["a", "red", "blue", "circle", "square"]


def share_of_red(hypotheses, references):
    return np.array(
        [
            sum(w == "red" for w in h.split()) / max(len(h.split()), 1)
            for h in hypotheses
        ]
    )


def run(mode, seed, args):
    keras.utils.clear_session()
    keras.utils.set_random_seed(seed)
    captioner = keras_captioning.models.ImageCaptioner(
        VOCABULARY,
        max_length=4,
        decoder={
            "embedding_dim": 8,
            "units": 16,
            "dropout": 0.5,
            "conditioning": mode,
        },
        feature_to_sequence={"units": 8},
    )
    captioner.compile()
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (4, 16, 16, 3)).astype("uint8")
    references = [["a red circle"], ["a blue square"]] * 2
    history = captioner.fit_self_critical(
        images,
        references,
        epochs=args.epochs,
        batch_size=2,
        num_samples=3,
        reward=share_of_red,
        optimizer=keras.optimizers.Adam(args.learning_rate),
        verbose=0,
    )
    return history.history["reward"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--modes", nargs="+", default=None)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--learning-rate", type=float, default=0.01)
    args = parser.parse_args()
    modes = args.modes or conditioning.names()
    print(
        f"backend={keras.backend.backend()} epochs={args.epochs} "
        f"Adam({args.learning_rate}) load={os.getloadavg()[0]:.1f}"
    )
    failures = 0
    for mode in modes:
        for seed in args.seeds:
            rewards = run(mode, seed, args)
            rose = rewards[-1] > rewards[0] + 0.2
            failures += not rose
            print(
                f"{mode:<20} seed {seed}  reward {rewards[0]:.2f} -> "
                f"{rewards[-1]:.2f}  {'rose' if rose else 'DID NOT RISE'}",
                flush=True,
            )
    print(f"{failures} of {len(modes) * len(args.seeds)} runs did not rise")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
