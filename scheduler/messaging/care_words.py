"""Words that reveal the kind of care, found however they are inflected, spaced or disguised.

Every text, every admin's wording and CLINIC_SMS_NAME pass through `found_in`. A word is
matched by its stem (addicts, detoxing, counselors, adictos), also when its letters are split
by separators (D-E-T-O-X, d e t o x) or swapped for look-alikes (M3thadone, @lcohol, $ober).
Stems are chosen so that the everyday words sharing their first letters still pass: "meth"
only alone (method, Methodist), "adict"/"adicc" (not adicional), "tratamient" (not tratar),
"sobrio"/"sobriedad" (not sobrina), and the initials AA and NA only as whole words.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# The words themselves, as documentation and as a test's checklist; matching uses the stems.
# "clinic" is deliberately absent: it may appear in CLINIC_SMS_NAME, but no template uses it.
FORBIDDEN_WORDS = frozenset({
    # English
    "detox", "detoxification", "rehab", "rehabilitation", "addiction", "addictions", "addict",
    "addicted", "recovery", "recovering", "relapse", "withdrawal", "therapy", "therapies",
    "therapist", "therapists", "therapeutic", "counseling", "counselling", "counselor",
    "counsellor", "group", "groups", "treatment", "treatments", "sober", "sobriety",
    "substance", "substances", "drug", "drugs", "alcohol", "alcoholic", "alcoholism",
    "opioid", "opioids", "opiate", "opiates", "heroin", "fentanyl", "cocaine", "meth",
    "methadone", "suboxone", "buprenorphine", "naloxone", "narcan", "medication",
    "medications", "psychiatric", "psychiatrist", "mental", "diagnosis", "overdose",
    "psychotherapy", "narcotics", "aa", "na",
    # Spanish
    "terapia", "terapias", "terapeuta", "terapeutas", "grupo", "grupos", "tratamiento",
    "tratamientos", "desintoxicacion", "adiccion", "adicciones", "adicto", "adicta",
    "rehabilitacion", "recuperacion", "recaida", "abstinencia", "consejeria", "consejero",
    "consejera", "sobriedad", "sobrio", "sobria", "sustancia", "sustancias", "droga",
    "drogas", "alcoholico", "alcoholica", "alcoholismo", "opioide", "opioides", "opiaceo",
    "opiaceos", "heroina", "metadona", "naloxona", "medicamento", "medicamentos",
    "psiquiatra", "psiquiatrico", "diagnostico", "sobredosis", "psicoterapia", "narcoticos",
})

# A word starting with one of these reveals the care (every inflection, both languages).
STEMS = (
    "detox", "desintox", "rehab", "addict", "adict", "adicc", "recover", "recuperac", "relaps", "recaid",
    "withdrawal", "abstinen", "counsel", "consejer", "group", "grupo", "grupal", "treatment", "tratamient",
    "sobriet", "sobried", "substanc", "sustanc", "drug", "droga", "alcohol", "opioid", "opiat", "opiace",
    "heroin", "fentan", "cocain", "methadon", "metadon", "suboxon", "buprenorf", "buprenorph",
    "naloxon", "narcan", "narcot", "medicat", "medicament", "psych", "psiq", "psic", "mental",
    "diagnos", "overdos", "sobredos",
)
# Found anywhere inside a word: psychotherapy, physiotherapy, psicoterapia.
INSIDE = ("therap", "terap")
# Only as whole words: their letters begin everyday words (method, sobrina, Nashville).
WHOLE = frozenset({"meth", "meths", "sober", "sobers", "sobrio", "sobria", "sobrios", "sobrias",
                   "aa", "na", "12step", "12steps"})
# The twelve steps of AA and NA, however joined ("12-step", "twelve steps"; not "Suite 12, step in").
PHRASES = re.compile(r"\b(?:12|twelve|doce)[\s._-]*(?:steps?|pasos?)\b")

_LOOKALIKES = str.maketrans({"3": "e", "0": "o", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                             "!": "i", "|": "l"})
_WORD_CHARS = re.compile(r"[a-z0-9@$!|]+")  # a word, look-alike symbols included
_NOT_ALNUM = re.compile(r"[^a-z0-9]")
_SEPARATORS = re.compile(r"[^\sa-z0-9@$!|]+")  # what may split a word's letters: D-E-T-O-X, re.hab
_ACCENTS = re.compile(r"[\u0300-\u036f]")  # combining marks, once NFKD has split them off


def fold(text: str) -> str:
    """Lower-case and strip accents so 'Adicción' matches 'adiccion'."""
    if text.isascii():
        return text.lower()
    return _ACCENTS.sub("", unicodedata.normalize("NFKD", text.casefold()))


def _readings(word: str) -> set[str]:
    """`word` as written, and with look-alikes read as letters (1 as i and as l) if it has a letter."""
    if word.isalpha():
        return {word}
    plain = _NOT_ALNUM.sub("", word)
    if not any(ch.isalpha() for ch in word):
        return {plain}
    folded = word.translate(_LOOKALIKES)
    return {plain, folded.replace("1", "i"), folded.replace("1", "l")}


def _reveals(word: str) -> bool:
    return word in WHOLE or word.startswith(STEMS) or any(part in word for part in INSIDE)


@lru_cache(maxsize=16384)  # every text repeats its template's words: each piece is read once
def _piece(piece: str) -> tuple[frozenset[str], str]:
    """What one whitespace-separated piece reveals (its words, and all of it with separators
    removed: D-E-T-O-X, re.hab), and that separator-free form."""
    joined = _SEPARATORS.sub("", piece)
    words = {joined, *_WORD_CHARS.findall(piece)}
    return frozenset(r for word in words if word for r in _readings(word) if _reveals(r)), joined


def found_in(text: str) -> list[str]:
    """The words of `text` that reveal the kind of care, as read (sorted, each once)."""
    folded = fold(text)
    found: set[str] = set()
    run: list[str] = []  # single characters spaced apart: d e t o x
    for piece in [*folded.split(), ""]:
        hits, joined = _piece(piece)
        found |= hits
        if len(joined) == 1:
            run.append(joined)
            continue
        if len(run) >= 3:
            found |= _piece("".join(run))[0]
        run = []
    found.update(re.sub(r"[\s._-]+", "", match.group(0)) for match in PHRASES.finditer(folded))
    return sorted(found)
