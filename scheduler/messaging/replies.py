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
    "para", "parar", "pare", "paren", "detener", "detengan", "detenga", "deten", "detente",
    "basta", "alto", "baja", "cancelar", "cancelen", "halt", "enough", "suficiente",
})
# Opting back in must be deliberate: only the two standard words, alone.
OPT_IN_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info", "ayuda"})
CONFIRM_WORDS = frozenset({"c", "yes", "si", "confirm", "confirmed", "confirmo", "confirmar"})
RESCHEDULE_WORDS = frozenset({"r", "reschedule", "reprogramar", "cambiar"})

# Politeness and padding never change what a reply asks ("STOP please", "Paren, por favor",
# "No más, gracias"): they are dropped before any rule is tried, so they can never hide one.
_FILLER = frozenset({
    "please", "pls", "plz", "plis", "pleas", "plese", "kindly", "thanks", "thx", "thanx", "tks", "ty",
    "ok", "okay", "now", "just", "really", "seriously", "honestly", "already", "anymore", "hey", "hi",
    "hello", "sorry", "oh", "um", "uh", "gracias", "porfa", "porfavor", "xfa", "xfavor", "ya", "ahora",
    "oiga", "oigan", "hola", "disculpe", "disculpen", "perdon", "bueno", "pues",
})
_FILLER_PAIRS = (("por", "favor"), ("thank", "you"), ("thank", "u"), ("muchas", "gracias"), ("any", "more"))
# A clause that is only one of these is a revocation even among other sentences ("Thanks. STOP.").
_CLEAR_ALONE = frozenset({"stop", "halt", "paren", "detener", "detengan", "detenga", "detente", "basta"})

# Opt-out words that also have everyday senses ("stop by", "cancel my appointment", "the end of
# the week"). Among other words such a reply is not clearly a revocation, but the carrier rules
# and the contract err toward opting out: the number is opted out and staff get a task to check.
_AMBIGUOUS_WORDS = frozenset({"stop", "cancel", "end", "quit", "cancelar", "basta", "parar", "paren",
                              "pare", "detener", "detengan", "detenga", "halt"})

# Words that mean "stop texting me" wherever they appear, by stem: unsub, unsubscribed, desuscribirme...
_REVOKING_WORDS = re.compile(
    r"\b(?:stopall|unsu?b\w*|unsusb\w*|unsuscri\w*|desuscri\w*|desubscri\w*|desinscri\w*|optout\w*"
    r"|revok\w*|revoco|revocar)\b"
)

# Word classes the rules below are built from, matched by stem so any inflection counts.
_TEXTS = (r"(?:texts?|txts?|messages?|msgs?|sms|reminders?|notifications?|alerts?"
          r"|mensajes?|mensajitos?|textos?|avisos?|recordatorios?|msjs?|notificaciones|alertas?)")
# Texting the patient, in English in any form ("text", "texting", "messaged", "contacted").
_TEXTING = r"(?:(?:text|txt|messag|msg|contact|bother)\w*|sms)"
# Sending in general: about texts only when what is sent is ("don't send me these", not "the bill").
_SENDING = r"(?:send\w*|sent|remind\w*|writ\w*)"
# The same in Spanish, only in the forms that tell someone to do or not do it (imperative,
# subjunctive, infinitive): "no me escriban" asks, "no me escriben" (they don't) only reports.
_ENVIAR = (r"(?:(?:mand|envi|contact|molest|texte|mensaje)(?:e|es|en|ar|arme|arnos|arle|enme|eme)"
           r"|escrib(?:a|as|an|ir|irme|irnos|irle|anme|ame))")
_DET = (r"(?:all|the|these|those|this|your|ur|my|any|more|of|such|kind|sort|sending|sending me|with"
        r"|los|las|sus|estos|estas|esos|esas|tus|todos|todas|el|la|de|mas|ningun|ninguno|ninguna)")
# What may stand between "I don't want" / "no quiero" and the texts or the sending.
_GAP = (r"(?:to|be|being|receive|recieve|get|getting|keep|see|any|these|those|your|ur|the|this|such|all"
        r"|more|further|kind|sort|of|from|you|u|guys|sent|text|sms|que|me|nos|recibir|seguir|sigan|sigas"
        r"|recibiendo|mas|sus|los|las|estos|estas|esos|esas|tus|ningun|ninguno|ningunos|ninguna|de"
        r"|ustedes|el|la|un|una|otro|otros|mi|tu|(?:mand|envi|contact|texte)ando|escribiendo)")
_NOT_EN = r"(?:dont|do not|didnt|did not|no longer|never|dont ever)"
_NOT_ES = r"(?:no|nunca|jamas)"
_CONSENT = r"(?:consent\w*|authori[sz]\w*|consentimiento|autorizacion|permiso|permission)"

# Revocations, matched against each clause of the folded reply with its filler words removed.
_REVOKING_PHRASES = re.compile(
    r"\b(?:"
    r"opt(?:ing|ed)? (?:me )?out"
    # negated wanting: "I don't want these texts anymore", "no quiero que me escriban"
    rf"|{_NOT_EN} (?:want|wish|need|like|care)(?: {_GAP}){{0,6}} (?:{_TEXTS}|{_TEXTING}|remind\w*)\b"
    rf"|{_NOT_ES} (?:quiero|queremos|quisiera|deseo|deseamos|necesito|necesitamos|me interesan?|me gustan?"
    rf"|acepto)(?: {_GAP}){{0,6}} (?:{_TEXTS}|{_ENVIAR}\b|recibir(?:los|las)?$)"
    r"|^no (?:me|nos) interesa$"
    # telling us not to send: "don't send me these", "never text me", "no escriban más"
    rf"|(?:dont|do not|never|you not|u not)(?: ever)? {_TEXTING} (?:me|us|this|these|those|them|that|it"
    rf"|any|anything|my (?:number|phone|cell)|{_TEXTS})\b"
    rf"|(?:dont|do not|never|you not|u not)(?: ever)? {_SENDING}(?: (?:me|us|to me|to us))?"
    rf"(?: (?:these|those|them|that|this|it|any|anything|more|stuff|again|ever|{_TEXTS}))+\b"
    rf"|(?:dont|do not|never|you not|u not)(?: ever)? {_SENDING} (?:me|us)$"
    rf"|^(?:dont|do not|never)(?: ever)? (?:{_TEXTING}|{_SENDING})$"
    rf"|{_NOT_ES}(?: (?:me|nos|le|les))?(?: (?:vuelvan?|vuelvas) a)? {_ENVIAR}\b"
    # stopping them: "stop texting", "cease all texts", "para de escribirme", "paren los mensajes"
    rf"|(?:stop|quit|cease|end|halt|discontinue|pause|cancel)(?: {_DET})* {_TEXTS}"
    r"|(?:stop|quit|cease|halt|discontinue) (?:texting|txting|messaging|sending|contacting|bothering"
    r"|reminding|writing|emailing)"
    r"|^(?:stop|quit|halt|cease|basta|paren|pare|parar|detener|detengan|detenga|deten|detente)"
    r" (?:it|this|that|them|all|everything|todo|eso|esto)$"
    rf"|(?:para|pare|paren|parar|deja|dejen|deje|dejar|dejes|detengan?|detener|termin\w*|acab\w*)"
    rf" de (?:{_ENVIAR}|recibir\w*)\b"
    rf"|(?:paren|pare|parar|detener|detengan?|deten|cancel\w*|suspend\w*|quit\w*|elimin\w*|borr\w*"
    rf"|termin\w*|corten|cortar|basta(?: de| con)?)(?: {_DET})* {_TEXTS}"
    rf"|no (?:more|mas)(?: {_DET})* {_TEXTS}|^no {_TEXTS}$"
    # consent: "I do not consent", "I withdraw my consent", "no doy mi consentimiento"
    rf"|(?:{_NOT_EN}|not|no)(?: (?:ever|give|gave|given|grant\w*|have|has|doy|di|damos|otorgo|he dado|tienen|tiene))?"
    rf"(?: (?:you|my|any|your|mi|el|ningun|su))* (?:consent\w*|authori[sz]\w*|consentimiento|autorizacion)"
    r"|(?:no|nunca) (?:consiento|consenti|autorizo|autorice)"
    rf"|(?:withdraw\w*|retract\w*|take back|taking back|rescind\w*|cancel\w*|remov\w*|retiro|retirar|cancelo"
    rf"|quito|anulo|anular)(?: (?:my|all|any|the|mi|el|su))* {_CONSENT}"
    rf"|without (?:my |your )?{_CONSENT}|sin (?:mi |su )?{_CONSENT}"
    # lists and numbers: "remove me", "take me off", "salir de la lista" (not the waiting list)
    r"|(?:remove|delete|erase) (?:me|my (?:number|phone)|this number)"
    r"|(?:take|get) (?:me|my (?:number|phone)|this number) off|be removed|want out"
    r"|(?:salir|salirme|salgo|sacar|sacarme|sacame|saquenme|saqueme|quitar|quitarme|quitame|quitenme|quiteme"
    r"|borrar|borrarme|borrame|borrenme|eliminar|eliminarme|eliminame|eliminenme)(?: \w+){0,3}"
    r" de (?:la |su |sus |esta |esa |tu )?(?:lista|listas|envios|base de datos)(?! de espera)"
    r"|not interested|didnt sign up|did not sign up|never signed up"
    r"|lose my number|leave me alone|wrong number"
    r"|(?:darme|dar|dame|denme|me doy) de baja"
    r"|(?:cancelar|anular) (?:la |mi )?suscripcion"
    r"|(?:quitenme|quiteme|quitame|quitarme|sacame|saquenme|saqueme|sacarme|borrenme|eliminenme)"
    r"|(?:borren?|borrar|eliminen?|eliminar) (?:mi|este) numero|numero equivocado"
    r")\b"
)
# "No más", "no more" alone (after filler: "No más, gracias", "Por favor no más").
_NO_MORE = re.compile(r"^no (?:mas|more)$")
_CLAUSE_BREAK = re.compile(r"[.,;:!?¡¿()\[\]\n\r\u2026]+")


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


def _without_filler(words: list[str]) -> list[str]:
    """`words` with politeness and padding removed (single words and pairs such as 'por favor')."""
    kept: list[str] = []
    i = 0
    while i < len(words):
        if tuple(words[i:i + 2]) in _FILLER_PAIRS:
            i += 2
            continue
        if words[i] not in _FILLER:
            kept.append(words[i])
        i += 1
    return kept


def clauses(body: str) -> list[str]:
    """The reply's clauses (split at sentence punctuation), folded, filler removed, empty ones dropped."""
    parts = (" ".join(_without_filler(fold(part).split())) for part in _CLAUSE_BREAK.split(body))
    return [part for part in parts if part]


def classify(body: str | None) -> MessageKind:
    """What a reply asks for: confirm, reschedule, opt_out, opt_in, help or other."""
    return read(body).kind


def revokes(body: str) -> bool:
    """True when the reply clearly asks for no more texts, in any of its clauses."""
    parts = clauses(body)
    core = " ".join(parts)
    return (bool(_REVOKING_WORDS.search(core)) or core in OPT_OUT_WORDS or bool(_NO_MORE.match(core))
            or any(part in _CLEAR_ALONE or _REVOKING_PHRASES.search(part) for part in parts))


def read(body: str | None) -> Reading:
    """classify(), also telling whether an opt-out was clear or read from an ambiguous word."""
    text = fold(body or "")
    if not text:
        return Reading(OTHER)
    words = text.split()
    if len(words) == 1 and words[0] in OPT_IN_WORDS:
        return Reading(OPT_IN)
    if revokes(body or ""):
        return Reading(OPT_OUT)
    if _AMBIGUOUS_WORDS.intersection(words):
        return Reading(OPT_OUT, unclear=True)
    core = _without_filler(words)
    if len(core) == 1:
        word = core[0]
        if word in HELP_WORDS:
            return Reading(HELP)
        if word in CONFIRM_WORDS:
            return Reading(CONFIRM)
        if word in RESCHEDULE_WORDS:
            return Reading(RESCHEDULE)
    return Reading(OTHER)
