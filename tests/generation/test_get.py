"""`keras_captioning.generation.get` and sampler configs."""

import pytest

from keras_captioning import generation


def test_names_build_samplers_with_their_options():
    beam = generation.get("beam", beam_width=5, length_penalty=0.6)
    assert isinstance(beam, generation.BeamSampler)
    assert (beam.beam_width, beam.length_penalty) == (5, 0.6)
    assert isinstance(generation.get("greedy"), generation.GreedySampler)
    sample = generation.get("sample", temperature=0.7, top_k=4, seed=3)
    assert isinstance(sample, generation.RandomSampler)
    assert (sample.temperature, sample.top_k, sample.seed) == (0.7, 4, 3)


def test_a_sampler_instance_is_returned_unchanged():
    sampler = generation.BeamSampler(beam_width=2)
    assert generation.get(sampler) is sampler
    with pytest.raises(ValueError, match="already configured"):
        generation.get(sampler, beam_width=4)


def test_unknown_identifiers_are_rejected_with_the_choices():
    with pytest.raises(ValueError) as info:
        generation.get("topk")
    for word in ["'topk'", "beam", "greedy", "sample"]:
        assert word in str(info.value)
    with pytest.raises(TypeError, match="int"):
        generation.get(3)
    with pytest.raises(TypeError, match="beam_size"):
        generation.get("beam", beam_size=3)


@pytest.mark.parametrize(
    "sampler",
    [
        generation.GreedySampler(),
        generation.BeamSampler(3, 0.6, True),
        generation.RandomSampler(0.7, 5, 11),
        generation.RandomSampler(),
    ],
)
def test_configs_round_trip(sampler):
    clone = type(sampler).from_config(sampler.get_config())
    assert clone.get_config() == sampler.get_config()
    assert repr(clone) == repr(sampler)
