"""Every caption form `load_captions` reads trains one epoch through
`keras-captioning train --captions` and scores through `evaluate`.

Each case writes a few lines of a real-looking file (the texts of
`tests/datasets/test_load_captions.py`, with more rows so that every split
gets an image) and tiny JPEGs, then runs both subcommands in this process.
"""

import json
import os

import pytest

from keras_captioning import cli
from keras_captioning import datasets
from tests.cli.test_error_policy import TRAIN_TINY
from tests.datasets.test_load_captions import FLICKR8K_TOKENS
from tests.datasets.test_load_captions import FLICKR30K
from tests.datasets.test_load_captions import KAGGLE_FLICKR8K
from tests.datasets.test_load_captions import coco_annotations
from tests.datasets.test_load_captions import write
from tests.datasets.test_load_captions import write_images

# Rows added to each form so that a held-out split is never empty.
EXTRA = [
    (f"10{index:02d}_extra.jpg", caption)
    for index, caption in enumerate(
        [
            "A dog runs across the grass .",
            "Two children play in the snow .",
            "A man rides a bike , fast .",
            "A woman sits on a bench .",
            "A black dog jumps over a log .",
        ]
    )
]


def kaggle_csv(root):
    rows = "".join(f'{name},"{caption}"\n' for name, caption in EXTRA)
    path = write(root / "captions.txt", KAGGLE_FLICKR8K + rows)
    return path, root / "Images", "csv"


def flickr30k(root):
    rows = "".join(f"{name}| 0| {caption}\n" for name, caption in EXTRA)
    path = write(root / "results.csv", FLICKR30K + rows)
    return path, root / "flickr30k_images", "flickr30k"


def flickr8k(root):
    rows = "".join(f"{name}#0\t{caption}\n" for name, caption in EXTRA)
    path = write(
        root / "Flickr8k_text" / "Flickr8k.token.txt", FLICKR8K_TOKENS + rows
    )
    # The split files that come with the token file.
    write(
        root / "Flickr8k_text" / "Flickr_8k.trainImages.txt",
        "".join(name + "\n" for name, _ in EXTRA[:3]),
    )
    write(
        root / "Flickr8k_text" / "Flickr_8k.devImages.txt", EXTRA[3][0] + "\n"
    )
    write(
        root / "Flickr8k_text" / "Flickr_8k.testImages.txt",
        "1001773457_577c3a7d70.jpg\n" + EXTRA[4][0] + "\n",
    )
    return path, root / "Flicker8k_Dataset", "flickr8k"


def coco(root):
    annotations = coco_annotations()
    for index, (name, caption) in enumerate(EXTRA):
        annotations["images"].append({"file_name": name, "id": index})
        annotations["annotations"].append(
            {"image_id": index, "id": 9000 + index, "caption": caption}
        )
    path = write(
        root / "annotations" / "captions_val2017.json", json.dumps(annotations)
    )
    return path, root / "val2017", "coco"


def karpathy(root):
    splits = ["train", "train", "restval", "val", "test"]
    records = [
        {
            "filename": name,
            "split": split,
            "sentences": [{"raw": caption, "tokens": caption.split()}],
        }
        for (name, caption), split in zip(EXTRA, splits)
    ]
    path = write(
        root / "dataset_flickr8k.json",
        json.dumps({"images": records, "dataset": "flickr8k"}),
    )
    return path, root / "Flicker8k_Dataset", "karpathy"


def tsv(root):
    rows = "".join(f"{name}\t{caption}\n" for name, caption in EXTRA)
    path = write(root / "labels.tsv", "image\tcaption\n" + rows)
    return path, root, "tsv"


def jsonl(root):
    rows = [
        json.dumps({"image": name, "caption": [caption, caption.lower()]})
        for name, caption in EXTRA
    ]
    path = write(root / "captions.jsonl", "\n".join(rows) + "\n")
    return path, root / "photos", "jsonl"


def imagefolder(root):
    rows = [
        json.dumps({"file_name": name, "text": caption})
        for name, caption in EXTRA
    ]
    folder = root / "my_dataset"
    write(folder / "metadata.jsonl", "\n".join(rows) + "\n")
    return folder, folder, "imagefolder"


FORMS = [
    kaggle_csv,
    flickr30k,
    flickr8k,
    coco,
    karpathy,
    tsv,
    jsonl,
    imagefolder,
]
# The command's path after `load_captions` is the same for every form, and
# tests/datasets/test_load_captions.py reads each one; by default a
# COCO file and a folder go through the command, the rest with --run_large.
BY_DEFAULT = (coco,)


def listed_images(path, images, form):
    """Every image file a form's caption file names, for `write_images`."""
    data = datasets.load_captions(path, images, check_files=False)
    assert data.format == form
    return [os.path.relpath(image, images) for image in data.image_paths]


def run(argv, capsys):
    try:
        code = cli.main([str(arg) for arg in argv])
    except SystemExit as exit_info:
        code = exit_info.code
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            make,
            id=make.__name__,
            marks=() if make in BY_DEFAULT else pytest.mark.large,
        )
        for make in FORMS
    ],
)
def test_form_trains_and_scores_through_the_command(make, tmp_path, capsys):
    path, images, form = make(tmp_path)
    write_images(images, listed_images(path, images, form))
    code, printed = run(
        [
            "train",
            f"--captions={path}",
            f"--image-dir={images}",
            "--holdout=0.2",
            "--max-length=8",
            "--beam-width=1",
            "--max-eval-images=1",
            f"--output-dir={tmp_path / 'out'}",
            *TRAIN_TINY,
        ],
        capsys,
    )
    assert code == cli.EXIT_OK, printed
    assert f"read as {form!r} (detected)" in printed
    model = tmp_path / "out" / "captioner.keras"
    assert model.exists()
    code, printed = run(
        [
            "evaluate",
            model,
            f"--captions={path}",
            f"--image-dir={images}",
            "--strategy=greedy",
            "--max-images=2",
            "--quiet",
        ],
        capsys,
    )
    assert code == cli.EXIT_OK, printed
    assert f"read as {form!r} (detected)" in printed
    scores = dict(
        line.split()
        for line in printed.splitlines()
        if line.startswith(("BLEU", "CIDEr", "ROUGE"))
    )
    assert set(scores) >= {"BLEU-1", "BLEU-4", "ROUGE-L", "CIDEr-D"}
    assert all(0 <= float(value) <= 10 for value in scores.values())
