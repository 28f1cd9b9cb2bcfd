"""Train a captioner on Flickr8k, Flickr30k or COCO from local files.

Nothing is downloaded: point the script at a Karpathy split file and the
dataset's images,

    python examples/train_karpathy.py \\
        --karpathy-json data/dataset_flickr8k.json \\
        --image-dir data/Flicker8k_Dataset \\
        --encoder mobilenet_v3_small \\
        --encoder-weights weights/mobilenet_v3_small_notop.weights.h5 \\
        --freeze-encoder --epochs 20

or at Flickr8k's own text files instead of a Karpathy file,

    python examples/train_karpathy.py \\
        --flickr8k-text-dir data/Flickr8k_text \\
        --image-dir data/Flicker8k_Dataset ...

The script builds the vocabulary from the training captions (words seen at
least `--min-count` times), trains an `ImageCaptioner` with a
`keras.applications` backbone (`--encoder`, with ImageNet weights read from
the local file `--encoder-weights`) and an attention LSTM, scores beam
search captions of the test split with BLEU-1..4, ROUGE-L and CIDEr-D
(METEOR with `--meteor`, which needs Java), and saves the model to
`--output-dir/captioner.keras`.

With `--freeze-encoder` the backbone is not trained. Its features then never
change, so they are computed once with `keras_captioning.data.cache_features`
(stored under `--cache-dir` and reused by later runs) and only the decoder
trains on them, which is many times faster. The trained decoder is then put
behind the backbone again, so the saved model captions images directly.
Without it the backbone is fine-tuned with the decoder, from images read by
`keras_captioning.data.make_dataset`.

What to expect. Xu et al. (2015), "Show, Attend and Tell", report on the
Karpathy test splits, for soft attention over the features of an ImageNet
VGG network that they did not fine-tune (BLEU-1 / 2 / 3 / 4 / METEOR, in
percent; this script prints fractions):

- Flickr8k:  67.0 / 44.8 / 29.9 / 19.5 / 18.93
- Flickr30k: 66.7 / 43.4 / 28.8 / 19.1 / 18.49
- COCO:      70.7 / 49.2 / 34.4 / 24.3 / 23.90

The frozen-encoder command above is meant to approach the Flickr8k row
(BLEU-4 0.195). Without pretrained `--encoder-weights` the backbone starts
from random weights, and a model trained from scratch on Flickr8k's 6,000
images stays far below it.

The training itself lives in the package, as the `keras-captioning train`
command (the same options); this script runs it.

Run `python examples/train_karpathy.py --help` for every option.
"""

from keras_captioning.cli import train


def main(argv=None):
    """Trains, scores and saves; returns the scores, captions and history."""
    return train.main(argv, prog="train_karpathy.py")


if __name__ == "__main__":
    main()
