"""Outgoing text templates (en, es) and the checks every text must pass: GSM-7, one segment, neutral."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from scheduler.messaging import care_words
from scheduler.models.enums import Language

# GSM 03.38 basic character set (the escape code itself is not a character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs an escape plus the character, two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
SEGMENT_SEPTETS = 160
FORBIDDEN_WORDS = care_words.FORBIDDEN_WORDS  # matched by stem and look-alike, see care_words

KINDS = (
    "booked", "reminder", "rescheduled", "cancelled", "waitlist_promoted", "confirm_ack",
    "reschedule_ack", "opt_out_ack", "opt_in_ack", "help", "unrecognized", "nothing_to_confirm",
    "no_show_outreach", "booked_weekly", "cancelled_weekly",
)
LANGUAGES = tuple(Language)

_EN_OPTIONS = "Reply C to confirm, R to reschedule, STOP to opt out."
_ES_OPTIONS = "Responda C para confirmar, R para cambiar, STOP para darse de baja."

# {n} clinic name, {w} date and time, {p} clinic phone. Spanish avoids words that need
# á, í, ó or ú (not GSM-7) rather than misspelling them.
# Texts that show the appointment's date and time; used whenever start_dt is given.
_TIMED: dict[str, dict[str, str]] = {
    "en": {
        "booked": f"{{n}}: Your appointment is set for {{w}}. {_EN_OPTIONS} Call {{p}}",
        "reminder": f"{{n}}: Reminder, your appointment is {{w}}. {_EN_OPTIONS} Call {{p}}",
        "rescheduled": f"{{n}}: Your appointment moved to {{w}}. {_EN_OPTIONS} Call {{p}}",
        "cancelled": ("{n}: Your appointment on {w} is cancelled. To book again call {p}. "
                      "Reply STOP to opt out."),
        # Weekly sessions booked together: one text names the first; each has its own reminders.
        "booked_weekly": f"{{n}}: Weekly appointments from {{w}}. {_EN_OPTIONS} Call {{p}}",
        "cancelled_weekly": ("{n}: Weekly appointments from {w} on are cancelled. To book again call "
                             "{p}. Reply STOP to opt out."),
        "waitlist_promoted": ("{n}: A spot opened up: your appointment is {w}. "
                              "Reply C to confirm or STOP to opt out. Call {p}"),
        "confirm_ack": ("{n}: Thank you, your appointment on {w} is confirmed. "
                        "Call {p} with questions."),
    },
    "es": {
        "booked": f"{{n}}: Su cita es el {{w}}. {_ES_OPTIONS} Tel {{p}}",
        "reminder": f"{{n}}: Recuerde su cita el {{w}}. {_ES_OPTIONS} Tel {{p}}",
        "rescheduled": f"{{n}}: Su nueva cita es el {{w}}. {_ES_OPTIONS} Tel {{p}}",
        "cancelled": ("{n}: Su cita del {w} fue cancelada. Para otra cita llame al {p}. "
                      "Responda STOP para darse de baja."),
        "booked_weekly": f"{{n}}: Cita semanal desde {{w}}. {_ES_OPTIONS} Tel {{p}}",
        "cancelled_weekly": ("{n}: Canceladas sus citas desde el {w}. Para otra cita llame "
                             "al {p}. Responda STOP para darse de baja."),
        "waitlist_promoted": ("{n}: Hay lugar para usted: su cita es el {w}. "
                              "Responda C para confirmar o STOP para darse de baja. Tel {p}"),
        "confirm_ack": "{n}: Gracias, su cita del {w} queda confirmada. Dudas: {p}",
    },
}
# Texts without a date; kinds missing here require start_dt.
_PLAIN: dict[str, dict[str, str]] = {
    "en": {
        "cancelled": ("{n}: Your appointment is cancelled. To book again call {p}. "
                      "Reply STOP to opt out."),
        "confirm_ack": "{n}: Thank you, your appointment is confirmed. Call {p} with questions.",
        "reschedule_ack": ("{n}: Thank you. We will call you to find a new time. Until then your "
                           "appointment stays as booked. Call {p}"),
        "opt_out_ack": ("{n}: You will get no more texts from us. Reply START to get them again. "
                        "Call {p}"),
        "opt_in_ack": "{n}: You will get appointment texts again. Reply STOP to opt out. Call {p}",
        "help": ("{n}: Appointment texts. For help call {p}. Reply STOP to opt out, START to opt "
                 "back in. Msg&data rates may apply."),
        "unrecognized": ("{n}: Sorry, we did not understand. Reply C to confirm, R to reschedule, "
                         "STOP to opt out, or call {p}"),
        "nothing_to_confirm": "{n}: We found no upcoming appointment to confirm. Please call {p}",
        "no_show_outreach": ("{n}: We missed you and would be glad to see you again. To book a new "
                             "time call {p}. Reply STOP to opt out."),
    },
    "es": {
        "cancelled": ("{n}: Su cita fue cancelada. Para otra cita llame al {p}. "
                      "Responda STOP para darse de baja."),
        "confirm_ack": "{n}: Gracias, su cita queda confirmada. Dudas: {p}",
        "reschedule_ack": ("{n}: Gracias. Le llamaremos para buscar otra hora. Mientras tanto su "
                           "cita sigue igual. Tel {p}"),
        "opt_out_ack": ("{n}: Dejaremos de enviarle mensajes. Responda START para volver a "
                        "recibirlos. Tel {p}"),
        "opt_in_ack": ("{n}: Listo, le enviaremos de nuevo avisos de sus citas. Responda STOP "
                       "para darse de baja. Tel {p}"),
        "help": ("{n}: Avisos de citas. Ayuda: {p}. Responda STOP para darse de baja, START "
                 "para volver. Pueden aplicar tarifas."),
        "unrecognized": ("{n}: No entendimos. Responda C para confirmar, R para cambiar, STOP "
                         "para darse de baja, o llame al {p}"),
        "nothing_to_confirm": "{n}: No encontramos citas por confirmar. Llame al {p}",
        "no_show_outreach": ("{n}: Le esperamos de nuevo con gusto. Para una nueva cita llame al {p}. "
                             "Responda STOP para darse de baja."),
    },
}

_EN_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Hand-written so no locale is needed and every character stays GSM-7 (é is; á is not).
_ES_DAYS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sabado", "domingo")
_ES_MONTHS = ("ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic")


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM 03.38 basic set or its extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def gsm7_length(text: str) -> int:
    """Length in septets (extension characters count 2); ValueError if the text is not GSM-7."""
    if not is_gsm7(text):
        raise ValueError("text is not GSM-7")
    return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)


def forbidden_words_in(text: str) -> list[str]:
    """The words in `text` that reveal the kind of care, however spelled (messaging.care_words)."""
    return care_words.found_in(text)


def check(text: str) -> str:
    """Return `text` if it is GSM-7, one segment and neutral; raise ValueError otherwise."""
    bad = sorted({ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION})
    if bad:
        raise ValueError("text has non-GSM-7 characters: " + " ".join(f"U+{ord(c):04X}" for c in bad))
    length = gsm7_length(text)
    if length > SEGMENT_SEPTETS:
        raise ValueError(f"text is {length} septets, more than one {SEGMENT_SEPTETS}-septet segment")
    words = forbidden_words_in(text)
    if words:
        raise ValueError("text reveals the kind of care: " + ", ".join(words))
    return text


def format_when(start_dt: datetime, language: str, tz: str | None = None) -> str:
    """Date and time in `tz` (default: start_dt's zone): 'Tue Mar 10 at 6:00 PM'."""
    if start_dt.tzinfo is None or start_dt.utcoffset() is None:
        raise ValueError("start_dt must be timezone-aware")
    local = start_dt.astimezone(ZoneInfo(tz)) if tz else start_dt
    if _language(language) == "es":
        # 24-hour clock, as usual in Spanish: "miércoles 30 sep, 18:00".
        return (f"{_ES_DAYS[local.weekday()]} {local.day} {_ES_MONTHS[local.month - 1]}, "
                f"{local.hour}:{local.minute:02d}")
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return (f"{_EN_DAYS[local.weekday()]} {_EN_MONTHS[local.month - 1]} {local.day} "
            f"at {hour}:{local.minute:02d} {half}")


def _language(language: str | None) -> str:
    """'es', 'es-MX', 'ES' -> 'es'; anything else -> 'en'."""
    code = (language or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else "en"


def render(kind: str, language: str, *, clinic_name: str, clinic_phone: str,
           start_dt: datetime | None = None, tz: str | None = None,
           overrides: Mapping[tuple[str, str], str] | None = None) -> str:
    """The checked text of `kind` in `language` (fallback en); ValueError if it cannot be sent.

    `overrides` maps (kind, language) to an admin's stored wording (messaging.templates), with
    the blanks {clinic}, {when} and {phone}; it is used when it passes the checks with these
    settings, and the built-in wording otherwise, so a stored text never stops a send.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown text kind {kind!r}")
    lang = _language(language)
    custom = (overrides or {}).get((kind, lang))
    if custom is not None and (start_dt is not None or "{when}" not in custom):
        when = format_when(start_dt, lang, tz) if start_dt is not None else ""
        try:
            return check(custom.format(clinic=clinic_name.strip(), when=when, phone=clinic_phone.strip()))
        except (ValueError, KeyError, IndexError):
            pass  # e.g. CLINIC_SMS_NAME grew since it was saved: the built-in wording goes out
    if start_dt is not None and kind in _TIMED[lang]:
        template, when = _TIMED[lang][kind], format_when(start_dt, lang, tz)
    elif kind in _PLAIN[lang]:
        template, when = _PLAIN[lang][kind], ""
    else:
        raise ValueError(f"text kind {kind!r} needs start_dt")
    return check(template.format(n=clinic_name.strip(), w=when, p=clinic_phone.strip()))


def longest_when(language: str) -> str:
    """The longest date/time string `format_when` can produce in `language`."""
    if _language(language) == "es":
        day = max(_ES_DAYS, key=len)
        month = max(_ES_MONTHS, key=len)
        return f"{day} 30 {month}, 23:59"
    return f"{max(_EN_DAYS, key=len)} {max(_EN_MONTHS, key=len)} 30 at 12:59 PM"


def validate_settings(clinic_name: str, clinic_phone: str) -> None:
    """Fail fast at start-up when CLINIC_SMS_NAME/CLINIC_PHONE would make any text unsendable."""
    if not clinic_name.strip() or not clinic_phone.strip():
        raise ValueError("CLINIC_SMS_NAME and CLINIC_PHONE must not be empty")
    for lang in LANGUAGES:
        for template in [*_TIMED[lang].values(), *_PLAIN[lang].values()]:
            when = longest_when(lang)
            check(template.format(n=clinic_name.strip(), w=when, p=clinic_phone.strip()))


# Admins may store their own wording (messaging.templates); these say which blanks each kind has.
DATED_KINDS = frozenset(_TIMED["en"])  # may name the date and time
UNDATED_KINDS = frozenset(_PLAIN["en"])  # can be sent without a date


def builtin(kind: str, language: str) -> str:
    """The built-in wording of `kind`, dated when it can be, with blanks {clinic}, {when}, {phone}."""
    lang = _language(language)
    template = _TIMED[lang].get(kind) or _PLAIN[lang][kind]
    return template.replace("{n}", "{clinic}").replace("{w}", "{when}").replace("{p}", "{phone}")
