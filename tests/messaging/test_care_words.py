"""Words that reveal the kind of care are refused however written; everyday look-alikes pass.

Issue 14 item 5: the checks once compared whole words, so inflected, spaced or disguised forms
went through in admins' templates and in CLINIC_SMS_NAME.
"""
from __future__ import annotations

import pytest

from scheduler.messaging import templates, texts

NAME, PHONE = "Northside Health", "555-0100"

# Every form the issue lists, and more of the same kinds (inflection, separators, look-alikes).
REVEALING = [
    "addicts", "rehabs", "detoxing", "counselors", "Alcoholics Anonymous", "Narcotics Anonymous",
    "NA meeting", "AA", "psychotherapy", "12-step", "D-E-T-O-X", "M3thadone", "adictos", "alcohólicos",
    "psicoterapia", "narcóticos",
    "Addicted", "REHABILITATION", "detoxed", "counsellors", "therapists", "groups", "d e t o x", "de-tox",
    "r3hab", "@lcohol", "a1cohol", "$ober", "0pioids", "Twelve Steps", "A.A.", "N.A. meeting",
    "adicciones", "Alcohólicos Anónimos", "terapeutas", "grupales", "tratamientos", "desintoxicándose",
    "Narcóticos Anónimos", "doce pasos", "psiquiátrico", "sobriedad", "sobrios", "m-e-t-h",
]
# Everyday words a naive stem would refuse.
HARMLESS = [
    "Methodist Health", "method", "Nashville", "información adicional", "tratar", "Northside Health",
    "sobrina", "regrouping", "Aaron", "Anna", "nacional", "Mentor", "Suite 12, step in", "Alcoa Road",
    "Drummond", "Grupe Street", "Adicional", "Trata de llegar temprano", "Natalie", "metodo",
]


@pytest.mark.parametrize("words", REVEALING)
def test_a_revealing_word_is_refused_in_any_text(words):
    assert texts.forbidden_words_in(words), words
    text = f"{NAME}: see you at the {words} Tue 5 PM"
    with pytest.raises(ValueError, match="reveals the kind of care" if texts.is_gsm7(text) else "GSM-7"):
        texts.check(text)


@pytest.mark.parametrize("language", texts.LANGUAGES)
@pytest.mark.parametrize("words", REVEALING)
def test_an_admins_template_with_a_revealing_word_is_refused(words, language):
    verdict = templates.check_template("reminder", language, f"{{clinic}}: {words} {{when}}",
                                       clinic_name=NAME, clinic_phone=PHONE)
    assert any(r.startswith("reveals the kind of care") for r in verdict.reasons), verdict.reasons


@pytest.mark.parametrize("words", [w for w in REVEALING if texts.is_gsm7(w)])
def test_a_clinic_name_with_a_revealing_word_is_refused(words):
    with pytest.raises(ValueError, match="reveals the kind of care"):
        texts.validate_settings(f"Hope {words}", PHONE)


@pytest.mark.parametrize("word", sorted(texts.FORBIDDEN_WORDS))
def test_every_listed_word_is_caught(word):
    plural = "" if word in {"aa", "na"} else "s"  # AA and NA only as they are
    assert texts.forbidden_words_in(word.upper()) and texts.forbidden_words_in(f"x {word}{plural}, y")


@pytest.mark.parametrize("words", HARMLESS)
def test_everyday_words_pass_the_wording_check(words):
    assert texts.forbidden_words_in(words) == []
    for language in texts.LANGUAGES:
        verdict = templates.check_template("reminder", language, f"{{clinic}}: {words} {{when}}",
                                           clinic_name=NAME, clinic_phone=PHONE)
        assert not any("reveals" in r for r in verdict.reasons), verdict.reasons


@pytest.mark.parametrize("name", [w for w in HARMLESS if texts.is_gsm7(w) and len(w) <= 20])
def test_everyday_clinic_names_pass_with_every_default_text(name):
    """validate_settings renders every built-in text of every kind and language with the name."""
    texts.validate_settings(name, PHONE)


@pytest.mark.parametrize("language", texts.LANGUAGES)
@pytest.mark.parametrize("kind", texts.KINDS)
def test_the_default_texts_reveal_nothing(kind, language):
    assert texts.forbidden_words_in(texts.builtin(kind, language)) == []
    assert templates.check_template(kind, language, texts.builtin(kind, language),
                                    clinic_name="Methodist Health", clinic_phone=PHONE).ok
