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
# Issue 14 item 4: polite, Spanish and roundabout forms that used to pass as "other".
CLEAR_REVOCATIONS += [
    "Don't send me these anymore", "Unsub", "I do not consent", "No quiero que me escriban",
    "No quiero que me manden mensajes", "Para de escribirme", "Paren", "Por favor paren", "Paren los mensajes",
    "Detengan los mensajes", "Detener", "No más, gracias", "Por favor no más", "No escriban más",
    "salir de la lista",
    # the same causes, other words: stems, filler, consent, lists
    "unsubscribed", "UNSUB please", "pls unsub me", "I'm unsubscribing", "Stop it", "STOP THAT!!",
    "Thanks for the reminder. Stop.", "Please, please stop sending me these", "no more", "No more, thank you",
    "I never consented to this", "I withdraw my consent", "you don't have my consent", "Do not text me, ok?",
    "Please don't ever text this number", "Don't remind me", "I don't want to be texted",
    "Halt all messages", "Enough!", "Discontinue these texts", "Cancel the reminders",
    "Por favor, dejen de escribirme", "Paren ya", "paren por favor, gracias", "Detengan esto",
    "Detener los recordatorios", "Ya no me manden nada", "no me vuelvan a escribir", "No me envíe más avisos",
    "No quiero que me sigan mandando mensajes", "No quiero que me contacten", "Quiero salir de su lista",
    "sáquenme de la lista por favor", "No doy mi consentimiento", "No autorizo estos mensajes",
    "Retiro mi consentimiento", "Basta de mensajes", "suspendan los avisos", "no me interesa",
    "Favor de no escribirme", "quiero dejar de recibir mensajes", "desuscribirme por favor",
]
# A reply with an opt-out word among other words that is not clearly a revocation. It still opts
# out, with the one confirmation (which says how to get texts back) and a staff task to check.
UNCLEAR = [
    "I can't stop by today", "cancel my appointment", "I need to cancel tomorrow", "at the end of the day",
    "I'll be there at the end of the week", "I quit my job so I can come anytime", "stop by at 5?",
    "quiero cancelar mi cita", "basta de esperar, voy mañana", "Can I stop in early?",
    "No puedo parar de toser, ¿cambiamos la cita?", "can I stop by before 5 to drop off forms?",
]
# Neither: nothing about stopping texts, and no opt-out word: answered (confirmed, rescheduled,
# or "we did not understand"), never opted out.
NOT_REVOCATIONS = [
    "Thanks for the text!", "I got your message, see you Tuesday", "Can you text me the address?",
    "I'll be late", "What time is my appointment?", "Can I get reminders in Spanish?",
    "I don't want to miss my appointment", "I never got the text about Tuesday",
    "I don't know if I can make it", "Do not call me, text me", "please keep texting me",
    "I no longer live at that address", "No, thank you", "no", "Gracias por el mensaje",
    "Llegaré tarde", "No puedo ir mañana", "¿Me pueden mandar la dirección?", "no sé la hora",
    "Ya no tengo carro, ¿hay otra hora?", "no quiero faltar a mi cita", "no recibí el mensaje",
    "para mañana?", "para cuando es mi cita",
    # issue 14 item 4: look like a revocation to a naive reading
    "no, gracias, el martes está bien", "No thanks, Tuesday works", "No more questions, see you Tuesday",
    "No, avísenme el martes", "No me mandaron la dirección", "No me escriben nunca a tiempo",
    "I don't text much, please call", "No me molesta, gracias", "No, no necesito transporte",
    "Don't call me, text me", "llego en 5 min, no más", "quiero salir de la lista de espera",
    "I don't have permission to leave work early", "Para el martes, ¿a qué hora?",
    "Please keep sending reminders", "¿Puedo cambiar la hora?", "Can we move it to Thursday?",
    "Mejor el jueves por favor", "Is it still on for Tuesday?", "¿Sigue en pie lo del martes?",
    "Sí, ahí estaré", "yes see you then", "Where do I park?", "¿Dónde es?",
    "Do not send me the bill", "Please don't remind me about the payment", "I don't want you to send me the bill",
]
ANSWERED_NOT_OPTED_OUT = [
    ("C", "confirm"), ("Sí", "confirm"), ("Confirmo, gracias", "confirm"), ("yes please", "confirm"),
    ("R", "reschedule"), ("cambiar por favor", "reschedule"), ("R thanks", "reschedule"),
]


def test_the_tables_are_broad():
    """At least 80 revocations and 40 replies that are not, in both languages."""
    assert len(CLEAR_REVOCATIONS) >= 80
    assert len(NOT_REVOCATIONS) + len(UNCLEAR) + len(ANSWERED_NOT_OPTED_OUT) >= 40


@pytest.mark.parametrize("body", CLEAR_REVOCATIONS)
def test_plain_language_revocations_opt_out(body):
    assert read(body) == ("opt_out", False), body


# Filler anywhere never hides a revocation: before, after or between any two of its words.
FILLER = ["please", "por favor", "gracias", "thank you", "ya", "just", "okay"]
PAIRS = {("por", "favor"), ("thank", "you")}  # a filler pair is one filler: not split by another


@pytest.mark.parametrize("body", CLEAR_REVOCATIONS)
def test_filler_words_never_defeat_a_revocation(body):
    words = body.split()
    for filler in FILLER:
        for at in range(len(words) + 1):
            if tuple(w.lower().strip(",.!") for w in words[max(at - 1, 0):at + 1]) in PAIRS:
                continue
            padded = " ".join([*words[:at], filler, *words[at:]])
            assert read(padded) == ("opt_out", False), padded


@pytest.mark.parametrize("body", UNCLEAR)
def test_an_opt_out_word_among_other_words_opts_out_for_staff_to_check(body):
    assert read(body) == ("opt_out", True), body


@pytest.mark.parametrize("body", NOT_REVOCATIONS)
def test_replies_about_something_else_do_not_opt_out(body):
    assert read(body) == ("other", False), body


@pytest.mark.parametrize(("body", "kind"), ANSWERED_NOT_OPTED_OUT)
def test_confirmations_and_reschedule_requests_do_not_opt_out(body, kind):
    assert read(body) == (kind, False), body


@pytest.mark.parametrize("body", ["STOP", "stop please", "Cancel", "para", "BAJA", "end", "Paren", "Detener"])
def test_a_lone_opt_out_word_is_clear(body):
    assert read(body) == ("opt_out", False)
