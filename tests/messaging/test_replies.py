"""Patient replies: keywords in any case and spacing, multi-word revocations, and everything else."""
from __future__ import annotations

import pytest

from scheduler.messaging.replies import classify, read

CASES = [
    # confirm
    ("C", "confirm"), ("c", "confirm"), ("c ", "confirm"), ("  C\n", "confirm"), ("c.", "confirm"),
    ("C!", "confirm"), ("yes", "confirm"), ("YES", "confirm"), ("Yes please", "confirm"),
    ("si", "confirm"), ("Sí", "confirm"), ("confirm", "confirm"), ("Confirmed.", "confirm"),
    ("C thanks", "confirm"),
    # reschedule
    ("R", "reschedule"), ("r", "reschedule"), (" r. ", "reschedule"), ("reschedule", "reschedule"),
    ("R please", "reschedule"), ("cambiar", "reschedule"),
    # the standard opt-out words
    ("STOP", "opt_out"), ("stop", "opt_out"), ("Stop.", "opt_out"), (" STOP ", "opt_out"),
    ("STOPALL", "opt_out"), ("stopall", "opt_out"), ("UNSUBSCRIBE", "opt_out"),
    ("Unsubscribe", "opt_out"), ("CANCEL", "opt_out"), ("cancel", "opt_out"), ("End", "opt_out"),
    ("END", "opt_out"), ("QUIT", "opt_out"), ("quit", "opt_out"), ("REVOKE", "opt_out"),
    ("OPTOUT", "opt_out"), ("OPT OUT", "opt_out"), ("opt-out", "opt_out"), ("Opt out", "opt_out"),
    ("STOP ALL", "opt_out"), ("stop!!!", "opt_out"), ("cancel please", "opt_out"),
    # multi-word revocations
    ("stop texting me", "opt_out"), ("please stop", "opt_out"), ("Please STOP texting",
                                                                "opt_out"),
    ("don't text me anymore", "opt_out"), ("Don\u2019t text me anymore", "opt_out"),
    ("dont text me", "opt_out"), ("do not contact me", "opt_out"),
    ("Do not message me again", "opt_out"), ("unsubscribe me", "opt_out"),
    ("remove me from your list", "opt_out"), ("Please remove my number", "opt_out"),
    ("take me off your list", "opt_out"), ("no more texts", "opt_out"),
    ("No more messages please", "opt_out"), ("leave me alone", "opt_out"),
    ("wrong number", "opt_out"), ("I quit", "opt_out"), ("I want to opt out", "opt_out"),
    ("I revoke my consent", "opt_out"),
    # Spanish
    ("no me mandes mensajes", "opt_out"), ("No me manden mas mensajes", "opt_out"),
    ("para", "opt_out"), ("PARA", "opt_out"), ("Basta", "opt_out"), ("basta ya", "opt_out"),
    ("no mas mensajes", "opt_out"), ("No más mensajes", "opt_out"), ("no más", "opt_out"),
    ("dejen de escribirme", "opt_out"), ("quiero darme de baja", "opt_out"), ("baja", "opt_out"),
    ("alto", "opt_out"), ("cancelar", "opt_out"), ("no quiero mas mensajes", "opt_out"),
    # opt back in: only the two words, alone
    ("START", "opt_in"), ("start", "opt_in"), (" Start. ", "opt_in"), ("UNSTOP", "opt_in"),
    ("unstop", "opt_in"),
    # help
    ("HELP", "help"), ("help", "help"), ("Help?", "help"), ("INFO", "help"), ("info", "help"),
    ("ayuda", "help"),
    # other, including near misses that must not opt in or out
    ("", "other"), ("   ", "other"), ("?", "other"), ("I can't make it", "other"),
    ("c u soon", "other"), ("See you then", "other"), ("ok", "other"), ("thanks", "other"),
    ("start again please", "other"), ("can I start next week", "other"), ("yes start", "other"),
    ("para mañana?", "other"), ("what time is it", "other"), ("CC", "other"), ("C R", "other"),
    ("I got no texts yesterday", "other"), ("can you take me at 5", "other"),
    ("Don't call me, text me", "other"), ("info about parking?", "other"),
]


@pytest.mark.parametrize(("body", "expected"), CASES)
def test_classify(body, expected):
    assert classify(body) == expected


def test_stop_as_a_word_anywhere_opts_out():
    # Erring toward opt-out: texting someone who asked us to stop is the worse mistake.
    assert classify("I'll stop by later") == "opt_out"
    assert classify("START STOP") == "opt_out"


def test_none_is_other():
    assert classify(None) == "other"


# Plain-language revocations, however they are phrased (FCC 2025: any reasonable means).
CLEAR_REVOCATIONS = [
    "I don't want these texts anymore", "I dont want these texts any more", "I do not want your messages",
    "I no longer want to receive texts", "I no longer wish to receive these messages",
    "i dont want to get texts from you", "I don't want to receive any more reminders",
    "I don't need these reminders anymore", "Please don't send me texts", "please do not send me messages",
    "Don't message me", "Never text me again", "do not text this number", "No more reminders",
    "no texts please", "Remove me", "remove me from this list", "Take me off", "take me off this list",
    "take my number off your list", "Delete my number", "Please unsubscribe me", "I want to unsubscribe",
    "opt me out", "I want to be removed", "I'd like to be removed from your texts", "Quit texting me",
    "Cease all texts", "not interested, stop", "I am not interested in these texts",
    "I didn't sign up for this", "who is this? leave me alone", "Wrong number",
    "I want out of these texts", "I revoke consent",
    # Spanish
    "No quiero recibir mensajes", "no quiero recibir más mensajes", "Ya no quiero recibir mensajes",
    "no quiero sus mensajes", "No deseo recibir mensajes", "ya no quiero mensajes",
    "no me envíen más mensajes", "No me manden mensajes", "No me escriban más", "ya no me escriban",
    "Dejen de mandarme mensajes", "deja de enviarme mensajes", "Quiero darme de baja", "denme de baja",
    "quítenme de la lista", "Sáquenme de su lista", "borren mi número", "eliminen mi número",
    "no más avisos", "No más mensajes por favor", "no quiero recordatorios", "número equivocado",
    "cancelar suscripción",
]
# An opt-out word among other words, not clearly a revocation: opted out, and staff check.
UNCLEAR = [
    "I can't stop by today", "cancel my appointment", "I need to cancel tomorrow", "at the end of the day",
    "I'll be there at the end of the week", "I quit my job so I can come anytime", "stop by at 5?",
    "quiero cancelar mi cita", "basta de esperar, voy mañana", "Can I stop in early?",
]
# Neither: nothing about stopping texts, and no opt-out word.
NOT_REVOCATIONS = [
    "Thanks for the text!", "I got your message, see you Tuesday", "Can you text me the address?",
    "I'll be late", "What time is my appointment?", "Can I get reminders in Spanish?",
    "I don't want to miss my appointment", "I never got the text about Tuesday",
    "I don't know if I can make it", "Do not call me, text me", "please keep texting me",
    "I no longer live at that address", "No, thank you", "no", "Gracias por el mensaje",
    "Llegaré tarde", "No puedo ir mañana", "¿Me pueden mandar la dirección?", "no sé la hora",
    "Ya no tengo carro, ¿hay otra hora?", "no quiero faltar a mi cita", "no recibí el mensaje",
    "para mañana?", "para cuando es mi cita",
]


@pytest.mark.parametrize("body", CLEAR_REVOCATIONS)
def test_plain_language_revocations_opt_out(body):
    assert read(body) == ("opt_out", False), body


@pytest.mark.parametrize("body", UNCLEAR)
def test_an_opt_out_word_among_other_words_opts_out_for_staff_to_check(body):
    assert read(body) == ("opt_out", True), body


@pytest.mark.parametrize("body", NOT_REVOCATIONS)
def test_replies_about_something_else_do_not_opt_out(body):
    assert classify(body) != "opt_out", body


@pytest.mark.parametrize("body", ["STOP", "stop please", "Cancel", "para", "BAJA", "end"])
def test_a_lone_opt_out_word_is_clear(body):
    assert read(body) == ("opt_out", False)
