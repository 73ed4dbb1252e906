"""Which language a message is written in, English or Spanish. Pure.

Words both languages use ("a", "me", "no", "normal", "gym") are evidence for neither: "a"
is as Spanish as it is English, and counting it for English once made "cuantas sesiones
voy a necesitar" a tie that went to English. The lists below hold common words of one
language only. When those words still tie, Spanish spelling (ñ, accents, ¿ ¡) and typical
word endings ("-ción", "-ando", "-ing", "-ly") decide; only then the default.
"""

from __future__ import annotations

import re

from messages.lexicon import tokenise


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SHARED = _words(
    "a me no normal ok gym spf plan yoga sauna serum retinol he ha son era sin red fin "
    "hot top super full mega tip piercing acne"
)
_SPANISH = (
    _words(
        "que puedo puede puedes pueden podre podria se la las el los es esta estan estoy estas "
        "tengo tiene tienes tienen tener cuando cuanto cuanta cuantos cuantas como donde por "
        "para con pero muy mucho mucha muchos poco poca un una unos unas y o ya hoy ayer "
        "manana hola gracias buenas buenos dias dia tardes noches si del al lo le les esto "
        "eso hace hacer usar cara piel despues antes otra otro vez hay duele ponerme volver "
        "nada ni tambien porfa xq q jaja cual cuales quien ustedes tratamiento sesion "
        "sesiones voy vas va vamos necesito necesitar necesita quiero quiere debo debe mi "
        "mis tu tus su sus nos mas menos algo todo toda todos todas este ese esa aqui ahi "
        "bien mal ahora todavia aun semana finde porque pues entonces sera mejor peor tiempo "
        "cosa creo hago hice ir salir poner puse pongo tomar echar sale salio salieron te de "
        "en estar soy fue ser siempre nunca cada desde hasta entre sobre tras le ella el "
        "mismo misma sigo sigue tanto tanta ojos frente mejillas granos crema limpiador "
        "protector bloqueador sol agua maquillaje maquillarme"
    )
    - _SHARED
)
_ENGLISH = (
    _words(
        "i im ive id ill is it its the an my can cant when what how do does did dont should "
        "will would to of and or in on at for with after before yet still just really hi "
        "hello thanks thank you your youre are was were have has had get got go going face "
        "skin again next day days today tomorrow tonight this that there theres any some not "
        "lol pls please wanna gonna tmrw idk be been if so but much many long week weekend "
        "also off up out back about from too very need use using put wear okay because "
        "wait could we they she her him our here which who why where all more less little "
        "bit kinda sorta since yesterday morning night feel feels looks look like still "
        "ok anything something bad good better worse"
    )
    - _SHARED
)
_SPANISH_MARKS = re.compile("[ñ¿¡áéíóú]")
_SPANISH_ENDINGS = tuple(
    sorted(_words("cion ciones mente ando iendo ado ada ados adas ido ida idos idas ito ita itos"))
)
_ENGLISH_ENDINGS = ("ing", "tion", "tions", "ly", "ness", "ful")


def _endings(tokens: list[str], endings: tuple[str, ...]) -> int:
    return sum(
        1
        for token in tokens
        if len(token) > 4
        and token not in _SPANISH
        and token not in _ENGLISH
        and token.endswith(endings)
    )


def detect_language(text: str, default: str = "en") -> str:
    """`es` or `en` from words only one language uses, then spelling, then word endings;
    `default` when nothing tells them apart."""
    tokens = tokenise(text)
    spanish = sum(1 for token in tokens if token in _SPANISH)
    english = sum(1 for token in tokens if token in _ENGLISH)
    spanish += 2 * len(_SPANISH_MARKS.findall(text.casefold()))
    if spanish == english:
        spanish += _endings(tokens, _SPANISH_ENDINGS)
        english += _endings(tokens, _ENGLISH_ENDINGS)
    if spanish > english:
        return "es"
    if english > spanish:
        return "en"
    return default
