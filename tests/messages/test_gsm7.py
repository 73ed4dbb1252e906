from __future__ import annotations

from messages import gsm7


def test_one_segment_holds_160_gsm7_characters_and_two_hold_306() -> None:
    assert gsm7.cost("a" * 160).segments == 1
    assert gsm7.cost("a" * 161).segments == 2
    assert gsm7.cost("a" * 306).segments == 2
    assert gsm7.cost("a" * 307).segments == 3


def test_extension_characters_count_twice() -> None:
    assert gsm7.cost("€" * 80).units == 160
    assert gsm7.cost("€" * 81).segments == 2


def test_one_character_outside_gsm7_switches_the_whole_message_to_ucs2() -> None:
    cost = gsm7.cost("Hola Mónica")
    assert cost.encoding == "UCS-2"
    assert gsm7.cost("á" * 71).segments == 2


def test_free_text_is_made_plain_gsm7() -> None:
    assert gsm7.to_gsm7("Mónica “Nené” — café…") == 'Monica "Nené" - café...'
    assert gsm7.is_gsm7(gsm7.to_gsm7("Łukasz 李"))
