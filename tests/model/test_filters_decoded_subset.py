"""The filter check's shortcut (filters.SURELY_DECODED) names only protocols the decoders fill."""

from sniffer.model.filters import SURELY_DECODED, decoded_names


def test_surely_decoded_is_a_subset_of_what_the_decoders_fill() -> None:
    assert SURELY_DECODED <= decoded_names()
