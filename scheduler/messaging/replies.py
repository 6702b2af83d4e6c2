"""Classify a patient's SMS reply: confirm, reschedule, opt out, opt in, help or other."""
from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from scheduler.models.enums import MessageKind

# What a reply asks for is the kind its message row is stored as.
CONFIRM, RESCHEDULE, OPT_OUT, OPT_IN, HELP, OTHER = (
    MessageKind.CONFIRM, MessageKind.RESCHEDULE, MessageKind.OPT_OUT, MessageKind.OPT_IN, MessageKind.HELP,
    MessageKind.OTHER,
)

# Single-keyword replies (after folding case, accents, punctuation and filler words).
# The carrier-standard opt-out words, plus Spanish ones a patient is likely to send.
OPT_OUT_WORDS = frozenset({
    "stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout",
    "para", "parar", "pare", "basta", "alto", "baja", "cancelar",
})
# Opting back in must be deliberate: only the two standard words, alone.
OPT_IN_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info", "ayuda"})
CONFIRM_WORDS = frozenset({"c", "yes", "si", "confirm", "confirmed", "confirmo", "confirmar"})
RESCHEDULE_WORDS = frozenset({"r", "reschedule", "reprogramar", "cambiar"})

# Politeness around a keyword ("STOP please", "C thanks") does not change its meaning.
_FILLER = frozenset({"please", "pls", "plz", "now", "thanks", "thank", "you", "thx", "ok",
                     "okay", "por", "favor", "gracias", "ya"})

# Words that mean "stop texting me" wherever they appear: they have no other everyday sense.
_REVOKING_WORDS = frozenset({"stopall", "unsubscribe", "revoke", "optout", "desuscribir", "desuscribirme"})
# Opt-out words that also have everyday senses ("stop by", "cancel my appointment", "the end of
# the week"). Among other words such a reply is not clearly a revocation, but the carrier rules
# and the contract err toward opting out: the number is opted out and staff get a task to check.
_AMBIGUOUS_WORDS = frozenset({"stop", "cancel", "end", "quit", "cancelar", "basta", "parar"})

_TEXTS = r"(?:texts?|txts?|messages?|msgs?|sms|reminders?|notifications?|alerts?)"
_MENSAJES = r"(?:mensajes?|textos?|avisos?|recordatorios?|msj|sms|notificaciones)"
# Multi-word revocations, matched against the folded text (words separated by one space).
_REVOKING_PHRASES = re.compile(
    r"\b(?:"
    r"opt (?:me )?out"
    # negated wanting: "I don't want these texts anymore", "I no longer wish to receive messages"
    r"|(?:dont|do not|didnt|did not|no longer|never|dont ever) (?:want|wish|need|like)(?: to)?"
    r"(?: (?:receive|recieve|get|getting|keep getting|be sent|see))?"
    r"(?: (?:any|these|those|your|ur|the|this|such|all))?(?: (?:more|further|kind of))?(?: (?:text|sms))? "
    + _TEXTS +
    r"|(?:dont|do not|never) (?:ever )?(?:text|txt|message|msg|sms|contact|bother)\b"
    r"|(?:dont|do not|never) (?:ever )?send (?:me )?(?:any )?(?:more )?" + _TEXTS +
    r"|(?:stop|quit|cease|end) (?:all |the |these |your |sending |sending me )*" + _TEXTS +
    r"|(?:stop|quit|cease) (?:texting|txting|messaging|sending|contacting|bothering)"
    r"|no more " + _TEXTS + r"|^no " + _TEXTS + r"(?: please| pls| thanks| thank you)?$"
    r"|(?:remove|delete|erase) (?:me|my (?:number|phone)|this number)"
    r"|take (?:me|my (?:number|phone)|this number) off|be removed|want out"
    r"|not interested|didnt sign up|did not sign up|never signed up"
    r"|lose my number|leave me alone|wrong number"
    # Spanish
    r"|no (?:quiero|deseo|necesito|me interesa)(?: (?:recibir|seguir recibiendo|mas|sus|los|las|estos|esos|tus|"
    r"ningun|ningunos))* " + _MENSAJES +
    r"|no me (?:mandes?|manden|envies?|envien|escribas?|escriban|contactes?|contacten|"
    r"molestes?|molesten|textees?|texteen)"
    r"|no mas " + _MENSAJES + r"|^no mas$"
    r"|(?:deja|dejen|dejar|dejes) de (?:mandar|enviar|escribir|mandarme|enviarme|escribirme|molestar|"
    r"molestarme|textear)"
    r"|(?:darme|dar|dame|denme|me doy) de baja"
    r"|(?:cancelar|anular) (?:la |mi )?suscripcion"
    r"|(?:quitenme|quiteme|quitame|quitarme|sacame|saquenme|saqueme|sacarme|borrenme|eliminenme)"
    r"|(?:borren?|borrar|eliminen?|eliminar) (?:mi|este) numero|numero equivocado"
    r")\b"
)


class Reading(NamedTuple):
    """What a reply asks for; `unclear` when an opt-out was read from a word with other senses."""

    kind: MessageKind
    unclear: bool = False


def fold(body: str) -> str:
    """Lower-case, strip accents, drop apostrophes and punctuation, collapse spaces."""
    text = unicodedata.normalize("NFKD", body.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"['\u2019`]", "", text)  # don't -> dont, so phrases match either spelling
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return text.strip()


def classify(body: str | None) -> MessageKind:
    """What a reply asks for: confirm, reschedule, opt_out, opt_in, help or other."""
    return read(body).kind


def read(body: str | None) -> Reading:
    """classify(), also telling whether an opt-out was clear or read from an ambiguous word."""
    text = fold(body or "")
    if not text:
        return Reading(OTHER)
    words = text.split()
    if len(words) == 1 and words[0] in OPT_IN_WORDS:
        return Reading(OPT_IN)
    core = [w for w in words if w not in _FILLER]
    if (_REVOKING_WORDS.intersection(words) or _REVOKING_PHRASES.search(text)
            or (len(core) == 1 and core[0] in OPT_OUT_WORDS)):
        return Reading(OPT_OUT)
    if _AMBIGUOUS_WORDS.intersection(words):
        return Reading(OPT_OUT, unclear=True)
    if len(core) == 1:
        word = core[0]
        if word in HELP_WORDS:
            return Reading(HELP)
        if word in CONFIRM_WORDS:
            return Reading(CONFIRM)
        if word in RESCHEDULE_WORDS:
            return Reading(RESCHEDULE)
    return Reading(OTHER)
