"""`keras_captioning.generation.get_sampler`: names, configs, instances."""

import pytest

from keras_captioning import generation

VOCABULARY = ["<pad>", "<start>", "<end>", "<unk>", "a", "red", "in", "the"]


@pytest.mark.parametrize(
    "name, sampler_class",
    [
        ("greedy", generation.GreedySampler),
        ("beam", generation.BeamSampler),
        ("sample", generation.RandomSampler),
    ],
)
def test_a_config_dict_rebuilds_the_sampler(name, sampler_class):
    sampler = generation.get_sampler(name, min_length=2)
    config = sampler.get_config()
    for class_name in (name, sampler_class.__name__):
        clone = generation.get_sampler(
            {"class_name": class_name, "config": config}
        )
        assert type(clone) is sampler_class
        assert clone.get_config() == config


def test_keywords_add_to_a_config_but_may_not_repeat_it():
    sampler = generation.get_sampler(
        {"class_name": "beam", "config": {"beam_width": 4}},
        length_penalty=0.6,
    )
    assert (sampler.beam_width, sampler.length_penalty) == (4, 0.6)
    with pytest.raises(ValueError, match="beam_width"):
        generation.get_sampler(
            {"class_name": "beam", "config": {"beam_width": 4}}, beam_width=2
        )
    with pytest.raises(ValueError, match="class_name"):
        generation.get_sampler({"name": "beam"})


def test_words_become_token_ids_with_a_vocabulary():
    sampler = generation.get_sampler(
        "greedy",
        vocabulary=VOCABULARY,
        bad_words=["red", "in the"],
        bad_endings=True,
    )
    assert sampler.bad_words_ids == ((5,), (6, 7))
    assert sampler.bad_endings_ids == (4, 6, 7)
    with pytest.raises(ValueError, match="vocabulary"):
        generation.get_sampler("greedy", bad_words=["red"])
    with pytest.raises(ValueError, match="not both"):
        generation.get_sampler(
            "greedy",
            vocabulary=VOCABULARY,
            bad_words=["red"],
            bad_words_ids=[5],
        )


def test_min_length_is_checked_against_max_length():
    with pytest.raises(ValueError, match="min_length=9.*max_length=8"):
        generation.get_sampler("beam", max_length=8, min_length=9)
    assert generation.get_sampler("beam", min_length=9).min_length == 9


def test_an_instance_is_returned_unchanged():
    sampler = generation.RandomSampler(seed=1)
    assert generation.get_sampler(sampler, vocabulary=VOCABULARY) is sampler
    with pytest.raises(ValueError, match="already configured"):
        generation.get_sampler(sampler, temperature=0.5)


def test_unknown_strategies_and_options_are_named():
    with pytest.raises(ValueError, match="'topk'"):
        generation.get_sampler("topk")
    with pytest.raises(TypeError, match="list"):
        generation.get_sampler(["beam"])
    with pytest.raises(TypeError, match="beam_size"):
        generation.get_sampler("beam", beam_size=3)
    # Each accepted option is listed once.
    with pytest.raises(TypeError, match="beam_width") as error:
        generation.get_sampler("greedy", beam_width=3)
    listed = str(error.value).split("options are ")[1].split("]")[0]
    assert listed.count("'min_length'") == 1


def test_get_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="get_sampler"):
        sampler = generation.get("beam", beam_width=5)
    assert sampler.beam_width == 5
