"""The typed treatment time (bot.telegram.timeparse) against anything a patient can type.

The Telegram conversation catches only TimeParseError from the parser, so any other
exception is a crash in the middle of a patient's self-registration.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import strategies as st

from bot.telegram.timeparse import (
    MAX_DAYS_BACK,
    TimeParseError,
    TypedTime,
    parse_typed_time,
    time_problem,
)
from tests.fuzz.harness import fuzz


def words(text: str) -> list[str]:
    return text.split()


WORDS = [
    *words(
        "today tonight yesterday tomorrow now just right ago hours hour hrs h minutes mins m "
        "days day at on around about this last past o'clock noon midday am pm a.m. p.m. a. m. "
        "hoy ayer anteayer antier manana mañana ahora mismo recien recién hace horas minutos "
        "dias días a las la el de tarde noche por sobre hacia mediodia mediodía "
        "jan january feb march apr may june jul aug sep sept oct nov dec enero febrero marzo "
        "abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre "
        "monday mon tuesday wed thursday fri saturday sun lunes martes miercoles miércoles "
        "jueves viernes sabado sábado domingo st nd rd th of an one una un"
    ),
    # The multi-word units the patterns look for, so numbers land right next to them.
    "days ago",
    "day ago",
    "hours ago",
    "an hour ago",
    "minutes ago",
    "mins ago",
    "hace",
    "hace una hora",
    "de la mañana",
    "de la tarde",
    "de la noche",
    "por la tarde",
    "a las",
    "the day before yesterday",
    "antes de ayer",
    "just now",
    "ahora mismo",
]
SEPARATORS = [" ", "  ", "/", "-", ".", ":", ",", "h", "\t", "\n", "¿", "!", ""]


def numbers() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(0, 99).map(str),
        st.integers(0, 9999).map(lambda n: f"{n:04d}"),
        st.integers(0, 10**30).map(str),  # far past any calendar
        st.sampled_from(["٣", "١٢", "𝟗", "²", "½", "00", "-1", "+5", "1e9"]),  # unicode digits
    )


# The shapes the parser's patterns look for, with any number in each slot.
TEMPLATES = [
    "{} days ago",
    "{} day ago {}:{}",
    "hace {} dias",
    "hace {} días a las {}",
    "{} hours ago",
    "{} mins ago",
    "hace {} horas",
    "hace {} minutos",
    "{}/{}",
    "{}/{}/{} {}:{}",
    "{}-{}-{}",
    "{}.{}.{} {}h",
    "{} de marzo",
    "march {}",
    "{}th of may at {}pm",
    "{}:{} pm",
    "{} am",
    "a las {} de la tarde",
    "{}h{}",
    "{} hrs",
    "ayer {}.{}",
    "today {}",
    "{}",
]


@st.composite
def templated(draw: st.DrawFn) -> str:
    template = draw(st.sampled_from(TEMPLATES))
    slots = template.count("{}")
    return template.format(*draw(st.lists(numbers(), min_size=slots, max_size=slots)))


@st.composite
def phrases(draw: st.DrawFn) -> str:
    """Strings built from the parser's own vocabulary, numbers and separators: the inputs
    that reach deep into its branches, which random text rarely does."""
    if draw(st.booleans()):
        return draw(templated())
    parts = draw(st.lists(st.one_of(st.sampled_from(WORDS), numbers()), min_size=1, max_size=8))
    spaced = st.one_of(st.just(" "), st.sampled_from(SEPARATORS))  # mostly words apart
    seps = draw(st.lists(spaced, min_size=len(parts), max_size=len(parts)))
    text = "".join(part + sep for part, sep in zip(parts, seps, strict=True))
    return text.upper() if draw(st.booleans()) and draw(st.booleans()) else text


NOW = st.datetimes(min_value=datetime(2000, 1, 15), max_value=datetime(2099, 12, 15))


def check_parse(args: tuple[str, datetime, bool]) -> None:
    text, now, day_first = args
    try:
        typed = parse_typed_time(text, now, day_first=day_first)
    except TimeParseError as refused:
        reason = str(refused)
        assert reason, "a refusal says why"
        return
    assert isinstance(typed, TypedTime)
    assert isinstance(typed.day, date)
    assert typed.at is None or isinstance(typed.at, time)
    if typed.at is not None:
        treated = typed.combine()
        problem = time_problem(treated, now)
        assert problem in (None, "future", "too_old")
        if problem is None:
            assert now - timedelta(days=MAX_DAYS_BACK) <= treated


def test_arbitrary_text_is_parsed_or_refused_with_time_parse_error() -> None:
    fuzz(
        "timeparse_text",
        st.tuples(st.text(max_size=200), NOW, st.booleans()),
        check_parse,
    )


def test_phrases_made_of_its_own_words_and_numbers_are_parsed_or_refused() -> None:
    fuzz("timeparse_phrases", st.tuples(phrases(), NOW, st.booleans()), check_parse)
