"""Patient replies: keywords in any case and spacing, multi-word revocations, and everything else."""
from __future__ import annotations

import pytest

from scheduler.messaging.replies import classify

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
    ("cancel my appointment", "other"), ("at the end of the day", "other"),
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
