"""Connect a CNN to an LSTM with the Keras functional API, and train both.

    python examples/seed_architecture.py

The question this example answers: how do I connect a CNN's output to an
LSTM's input, so that an image becomes a feature description, the caption's
word vectors enter the LSTM from the other side, each LSTM step produces the
next word, and the CNN and the LSTM train together?

The network that prompted it was a contracting stack of `Conv2D` and
`MaxPooling2D` blocks on large images, then `Dense` and `Reshape` into an
LSTM that emitted one word. Here the same conv stack feeds two layers that
do the joining properly:

    images (batch, 128, 128, 3)
      -> Conv2D/MaxPooling2D blocks       (batch, 8, 8, 64) feature map
      -> FeatureToSequence                (batch, 64, 128): one step per
                                          position of the map
      -> CaptionDecoder  <- token ids     (batch, steps)
      -> logits                           (batch, steps, vocabulary_size):
                                          the next word after every token

Why `Dense` + `Reshape` could not work:

- The sizes do not fit. `Reshape((steps, dim))` needs `steps * dim` to equal
  the `Dense` layer's width exactly, and whatever `steps` you choose to make
  the numbers agree means nothing: the steps of an LSTM should be the words
  of the caption, not slices cut out of one vector.
- It throws the picture's layout away. Flattening the feature map into a
  `Dense` layer mixes every position into one vector, so "the red circle is
  left of the square" must be relearned separately for every pair of places.
  `FeatureToSequence` keeps one feature vector per position instead, and the
  attention decoder picks the positions each word needs.
- One output gives one word. An LSTM that reads image vectors and returns
  its last state, followed by a softmax, predicts a single word. A caption
  needs the LSTM to read the caption itself, one word per step, starting
  from the image, and to predict the following word at every step. That is
  what `CaptionDecoder` does: during training it reads the caption shifted
  by one (teacher forcing), so one forward pass gives the loss of every word.

The script builds that model with `keras.Input` and `keras.Model`, trains it
on a few hundred shapes images (generated on the fly by
`keras_captioning.datasets.shapes`, nothing is downloaded), prints how much
the first convolution's weights moved (the caption loss reaches the CNN: they
train together), and then writes a caption for one test image with a short
Python loop over `decoder.step`, one word per LSTM step.

Run `python examples/seed_architecture.py --help` for the options.
"""

import argparse

import keras
import numpy as np

import keras_captioning
from keras_captioning.datasets import shapes
from keras_captioning.layers import CaptionDecoder
from keras_captioning.layers import FeatureToSequence

CONDITIONING_MODES = (
    "attention",
    "init_inject",
    "pre_inject",
    "par_inject",
    "merge",
)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=(
            "Build a CNN + LSTM captioner with the Keras functional API, "
            "train it and caption one image word by word."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=128,
        help="Image height and width in pixels (at least "
        f"{shapes.MIN_IMAGE_SIZE}).",
    )
    parser.add_argument(
        "--filters",
        type=int,
        nargs="+",
        default=[16, 32, 64, 64],
        help="Filters of each Conv2D/MaxPooling2D block; every block halves "
        "the image.",
    )
    parser.add_argument(
        "--conditioning",
        choices=CONDITIONING_MODES,
        default="attention",
        help="How the image enters the LSTM.",
    )
    parser.add_argument("--num-train", type=_positive_int, default=512)
    parser.add_argument("--epochs", type=_positive_int, default=5)
    parser.add_argument("--batch-size", type=_positive_int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=1,
        help="Keras progress output.",
    )
    args = parser.parse_args(argv)
    if args.image_size < shapes.MIN_IMAGE_SIZE:
        parser.error(
            f"--image-size must be at least {shapes.MIN_IMAGE_SIZE}. "
            f"Received: {args.image_size}"
        )
    if any(count < 1 for count in args.filters):
        parser.error(f"--filters must be positive. Received: {args.filters}")
    if args.image_size < 2 ** len(args.filters):
        parser.error(
            f"{len(args.filters)} pooling blocks shrink the image "
            f"{2 ** len(args.filters)} times, more than --image-size "
            f"{args.image_size}. Pass fewer --filters or a larger image."
        )
    return args


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, received {text!r}"
        )
    return value


def build_model(image_size, filters, vocabulary_size, conditioning):
    """Returns `(model, encoder, decoder)` sharing the same layers.

    `model` maps `[images, token_ids]` to next-word logits and is what
    trains; `encoder` maps images to the sequence the decoder reads, and is
    used with `decoder.step` to write a caption word by word.
    """
    images = keras.Input((image_size, image_size, 3), name="images")
    token_ids = keras.Input((None,), dtype="int32", name="token_ids")

    # The contracting conv stack of the question, unchanged in spirit.
    features = keras.layers.Rescaling(1 / 255, name="rescaling")(images)
    for block, count in enumerate(filters):
        features = keras.layers.Conv2D(
            count, 3, padding="same", activation="relu", name=f"conv{block}"
        )(features)
        features = keras.layers.MaxPooling2D(name=f"pool{block}")(features)

    # Instead of Dense + Reshape: every position of the map becomes one
    # step of a sequence, with a learned tag saying where it lies.
    image_sequence = FeatureToSequence(
        units=128,
        activation="relu",
        position_embedding=True,
        name="feature_to_sequence",
    )(features)

    # The caption's words enter here; the image conditions every step.
    decoder = CaptionDecoder(
        vocabulary_size=vocabulary_size,
        embedding_dim=64,
        units=128,
        conditioning=conditioning,
        name="decoder",
    )
    logits = decoder(token_ids, image_sequence)

    model = keras.Model([images, token_ids], logits, name="captioner")
    encoder = keras.Model(images, image_sequence, name="encoder")
    return model, encoder, decoder


def caption_word_by_word(encoder, decoder, tokenizer, image):
    """Greedy decoding in plain Python: one LSTM step per word."""
    image_sequence = encoder(image[None], training=False)
    state = decoder.get_initial_state(image_sequence)
    token = np.array([tokenizer.start_id])
    # The decoder may never write padding, a second start or `<unk>`.
    banned = [tokenizer.pad_id, tokenizer.start_id, tokenizer.unknown_id]
    words = []
    for _ in range(tokenizer.max_length):
        logits, state = decoder.step(token, state)
        logits = keras.ops.convert_to_numpy(logits)[0]
        logits[banned] = -np.inf
        token = np.array([int(np.argmax(logits))])
        if token[0] == tokenizer.end_id:
            break
        words.append(tokenizer.vocabulary[token[0]])
    return " ".join(words)


def main(argv=None):
    args = parse_args(argv)
    keras.utils.set_random_seed(args.seed)

    images, references = shapes.load_data(
        "train", num_images=args.num_train, image_size=args.image_size
    )
    test_images, test_references = shapes.load_data(
        "test", num_images=1, image_size=args.image_size
    )
    vocabulary = keras_captioning.text.build_vocabulary(references)
    max_length = max(
        len(caption.split()) for captions in references for caption in captions
    )
    tokenizer = keras_captioning.text.CaptionTokenizer(
        vocabulary, max_length=max_length
    )

    # One training row per (image, caption) pair: each image comes with
    # five captions.
    captions_per_image = len(references[0])
    rows_images = np.repeat(images, captions_per_image, axis=0)
    token_ids = tokenizer.tokenize(
        [caption for captions in references for caption in captions]
    )
    # Teacher forcing: the decoder reads the caption without its last token
    # and learns to predict it without its first, so the output at step t
    # is the word after token t.
    inputs = [rows_images, token_ids[:, :-1]]
    targets = token_ids[:, 1:]

    model, encoder, decoder = build_model(
        args.image_size,
        args.filters,
        tokenizer.vocabulary_size,
        args.conditioning,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3, clipnorm=5.0),
        # Cross-entropy over real words only: padding is masked out.
        loss=keras_captioning.losses.CaptionCrossentropy(),
    )
    model.summary()

    first_conv = model.get_layer("conv0").kernel
    before = keras.ops.convert_to_numpy(first_conv).copy()
    history = model.fit(
        inputs,
        targets,
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        verbose=args.verbose,
    )
    after = keras.ops.convert_to_numpy(first_conv)
    change = float(np.mean(np.abs(after - before)))
    relative = change / float(np.mean(np.abs(before)))
    print(
        "Mean absolute change of the first convolution's weights during "
        f"training: {change:.4g} ({relative:.1%} of their mean size): the "
        "caption loss trained the CNN too."
    )

    caption = caption_word_by_word(encoder, decoder, tokenizer, test_images[0])
    print(f"Caption of a test image, one LSTM step per word: {caption!r}")
    print(f"Its references: {test_references[0]}")
    return {
        "history": history.history,
        "conv_change": change,
        "caption": caption,
        "model": model,
    }


if __name__ == "__main__":
    main()
