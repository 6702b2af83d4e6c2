"""Classify a patient's SMS reply: confirm, reschedule, opt out, opt in, help or other."""
from __future__ import annotations

import re
import unicodedata

CONFIRM, RESCHEDULE, OPT_OUT, OPT_IN, HELP, OTHER = (
    "confirm", "reschedule", "opt_out", "opt_in", "help", "other",
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

# A word anywhere in a longer message that means "stop texting me": err toward opting out,
# since texting someone who revoked consent is the worse mistake.
_REVOKING_WORDS = frozenset({"stop", "stopall", "unsubscribe", "quit", "revoke", "optout",
                             "basta"})

# Multi-word revocations, matched against the folded text (words separated by one space).
_REVOKING_PHRASES = re.compile(
    r"\b(?:"
    r"opt (?:me )?out"
    r"|(?:dont|do not|never) (?:text|txt|message|msg|sms|contact|bother) (?:me|this number)"
    r"|no more (?:texts?|txts?|messages?|msgs?|sms|reminders?)"
    r"|(?:remove|delete) (?:me|my number|this number)"
    r"|take (?:me|my number|this number) off"
    r"|lose my number|leave me alone|wrong number"
    r"|no me (?:mandes?|manden|envies?|envien|escribas?|escriban|contactes?|contacten|"
    r"molestes?|molesten)"
    r"|no mas (?:mensajes|textos|avisos|msj)|^no mas$"
    r"|no quiero (?:mas )?(?:mensajes|textos|avisos|msj)"
    r"|(?:deja|dejen|dejar) de (?:mandar|enviar|escribir|mandarme|enviarme|escribirme)"
    r"|(?:darme|dar|dame|denme) de baja"
    r"|(?:cancelar|anular) (?:la |mi )?suscripcion"
    r"|borren? mi numero"
    r")\b"
)


def fold(body: str) -> str:
    """Lower-case, strip accents, drop apostrophes and punctuation, collapse spaces."""
    text = unicodedata.normalize("NFKD", body.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"['\u2019`]", "", text)  # don't -> dont, so phrases match either spelling
    text = re.sub(r"[^a-z0-9]+", " ", text)
    return text.strip()


def classify(body: str | None) -> str:
    """What a reply asks for: confirm, reschedule, opt_out, opt_in, help or other."""
    text = fold(body or "")
    if not text:
        return OTHER
    words = text.split()
    if text in ("opt out", "opt out all"):
        return OPT_OUT
    if len(words) == 1 and words[0] in OPT_IN_WORDS:
        return OPT_IN
    if _REVOKING_WORDS.intersection(words) or _REVOKING_PHRASES.search(text):
        return OPT_OUT
    core = [w for w in words if w not in _FILLER]
    if len(core) == 1:
        word = core[0]
        if word in OPT_OUT_WORDS:
            return OPT_OUT
        if word in HELP_WORDS:
            return HELP
        if word in CONFIRM_WORDS:
            return CONFIRM
        if word in RESCHEDULE_WORDS:
            return RESCHEDULE
    return OTHER
