"""Every word of the public schedule page and the feeds' names, in one catalogue-ready place.

Each constant is an English message (a gettext msgid, placeholders in str.format style); the
page looks each one up in a language's table below (msgid -> msgstr), so these tables turn into
.po catalogues as they are. English is the fallback for a message a table lacks. The guidelines
in short are `bot.texts.GUIDELINES` (the bot's words for seed 002), translated here the same way.
"""

from __future__ import annotations

from typing import Final

from bot.texts import GUIDELINES, GUIDELINES_TITLE

# Languages the page is written in: code -> the language's own name (for the language switch).
LANGUAGES: Final = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE: Final = "en"

FEED_NAME = "Practice Circles: all sessions"

PAGE_TITLE = "Practice Circles: free mindful self-compassion practice sessions"
SKIP_LINK = "Skip to the sessions"
HEADING = "Free drop-in practice sessions"
INTRO = (
    "Mindful self-compassion practice together, open to anyone, anywhere in the world, free of charge. "
    "Come as you are, and leave whenever you need to."
)
LANGUAGE_LABEL = "Language"
LANGUAGE_SUBMIT = "Show"

SCHEDULE_HEADING = "Upcoming sessions"
SCHEDULE_NOTE = "The schedule is set in US Pacific Time; each session also shows the time in UTC."
SCHEDULE_YOUR_ZONE = "Times marked “Your time” are in {zone}."
ZONE_LABEL = "Show times in"
ZONE_BROWSER = "My time zone ({zone})"
SCHEDULE_EMPTY = "No sessions are planned in the next {days} days. Please look again soon."
SCHEDULE_MORE = "More sessions are planned: in Discord, /schedule shows them all."
SESSION_YOUR_TIME = "Your time"
SESSION_PACIFIC = "US Pacific Time"
SESSION_UTC = "UTC"
SESSION_LENGTH = "{minutes} minutes"
SESSION_WHERE = "In the voice channel “{channel}” on our Discord server."
SESSION_WHERE_UNNAMED = "In the session's voice channel on our Discord server."
SESSION_OPEN = "Open the channel in Discord"
SESSION_CANCELLED = "Cancelled"
SESSION_CANCELLED_NOTE = "This session is cancelled. We are sorry, and hope to see you at another one."
SESSION_UNDER_WAY = "Under way now; you are welcome to join."

JOIN_HEADING = "How to join"
JOIN_SERVER = "Join our community's Discord server. It is free, and you need only a Discord account."
JOIN_SERVER_LINK = "Join the Discord server"
JOIN_SIGN_UP = (
    "In the server, /schedule shows the sessions in your own time. Sign up with one click to get a "
    "reminder, and news if a session you chose changes."
)
JOIN_ENTER = (
    "At the start time, come into the session's voice channel. There is nothing to prepare, and you may "
    "leave at any moment."
)

GUIDELINES_HEADING = GUIDELINES_TITLE

SUBSCRIBE_HEADING = "Add the sessions to your calendar"
SUBSCRIBE_INTRO = (
    "Subscribe once and your calendar app keeps up with the schedule: new sessions appear, moved "
    "sessions move, and cancelled sessions show as cancelled."
)
SUBSCRIBE_BUTTON = "Subscribe in my calendar app"
SUBSCRIBE_ADDRESS = "Calendar address (to paste into a calendar app, for example “From URL” in Google Calendar)"
SUBSCRIBE_PRIVATE = (
    "Only want the sessions you signed up for? In Discord, /calendar subscribe gives you a private link of your own."
)

FOOTER_COORDINATORS = "Questions or concerns? Write to our volunteer coordinators"
FOOTER_DONATE = "Support the Center for Mindful Self-Compassion"
FOOTER_SHARE = "Share this offering"
FOOTER_COMMUNITY = "Join the global MSC community"

# --- Spanish (es) -----------------------------------------------------------------------------------
SPANISH: Final[dict[str, str]] = {
    PAGE_TITLE: "Practice Circles: sesiones gratuitas de práctica de autocompasión consciente",
    SKIP_LINK: "Ir a las sesiones",
    HEADING: "Sesiones de práctica abiertas y gratuitas",
    INTRO: (
        "Practicamos juntos la autocompasión consciente, en sesiones abiertas a cualquier persona, en "
        "cualquier lugar del mundo, sin coste. Ven tal como eres, y vete cuando lo necesites."
    ),
    LANGUAGE_LABEL: "Idioma",
    LANGUAGE_SUBMIT: "Mostrar",
    SCHEDULE_HEADING: "Próximas sesiones",
    SCHEDULE_NOTE: (
        "El horario se fija en la hora del Pacífico de EE. UU.; cada sesión muestra también la hora en UTC."
    ),
    SCHEDULE_YOUR_ZONE: "Las horas marcadas «Tu hora» están en {zone}.",
    ZONE_LABEL: "Mostrar las horas en",
    ZONE_BROWSER: "Mi zona horaria ({zone})",
    SCHEDULE_EMPTY: "No hay sesiones previstas en los próximos {days} días. Vuelve a mirar pronto.",
    SCHEDULE_MORE: "Hay más sesiones previstas: en Discord, /schedule las muestra todas.",
    SESSION_YOUR_TIME: "Tu hora",
    SESSION_PACIFIC: "Hora del Pacífico (EE. UU.)",
    SESSION_UTC: "UTC",
    SESSION_LENGTH: "{minutes} minutos",
    SESSION_WHERE: "En el canal de voz «{channel}» de nuestro servidor de Discord.",
    SESSION_WHERE_UNNAMED: "En el canal de voz de la sesión, en nuestro servidor de Discord.",
    SESSION_OPEN: "Abrir el canal en Discord",
    SESSION_CANCELLED: "Cancelada",
    SESSION_CANCELLED_NOTE: "Esta sesión está cancelada. Lo sentimos, y esperamos verte en otra.",
    SESSION_UNDER_WAY: "En curso ahora; te damos la bienvenida si quieres unirte.",
    JOIN_HEADING: "Cómo participar",
    JOIN_SERVER: (
        "Únete al servidor de Discord de nuestra comunidad. Es gratis, y solo necesitas una cuenta de Discord."
    ),
    JOIN_SERVER_LINK: "Unirme al servidor de Discord",
    JOIN_SIGN_UP: (
        "En el servidor, /schedule muestra las sesiones en tu propia hora. Apúntate con un clic para "
        "recibir un recordatorio, y aviso si cambia una sesión que elegiste."
    ),
    JOIN_ENTER: (
        "A la hora de inicio, entra en el canal de voz de la sesión. No hace falta preparar nada, y "
        "puedes irte en cualquier momento."
    ),
    GUIDELINES_HEADING: "Cómo funcionan nuestras sesiones de práctica",
    GUIDELINES[0]: (
        "**Abiertas a todas las personas, en cualquier lugar.** Estas sesiones gratuitas comparten la "
        "autocompasión consciente tan ampliamente como es posible. Esperamos que lleves las prácticas a "
        "tu vida diaria y las compartas con otras personas."
    ),
    GUIDELINES[1]: (
        "**Hora del Pacífico.** El horario se fija en la hora del Pacífico de EE. UU.; el bot muestra cada "
        "sesión en tu propia hora. Apúntate para recibir recordatorios y enterarte de los cambios de "
        "horario; así también sabemos qué sesiones valora la gente."
    ),
    GUIDELINES[2]: (
        "**Cuando no puede venir nadie para guiar.** Hacemos lo posible para que en cada sesión haya una "
        "persona docente de MSC con experiencia. Cuando no la hay, nos sentamos juntos en silencio de 10 "
        "a 20 minutos o escuchamos una grabación de la lista aprobada, solo de esa lista. También te "
        "invitamos con cariño a irte y dedicar ese tiempo a otra actividad autocompasiva, fuera de línea."
    ),
    GUIDELINES[3]: (
        "**Solo guía quien enseña.** Para cuidar de todas las personas, ningún participante guía la "
        "práctica ni una conversación. El bot mantiene la sala en silencio mientras suena una grabación "
        "o dura una sentada en silencio."
    ),
    GUIDELINES[4]: (
        "**Tu cuidado es lo primero.** Participan personas de muchos países y culturas, con necesidades "
        "que cambian de un día para otro. Si una sesión no es lo que necesitas ahora, o no te resulta "
        "segura, puedes cerrar con compasión e irte, sin culpa y sin dar explicaciones."
    ),
    GUIDELINES[5]: (
        "**Las personas docentes** guían prácticas del curso Mindful Self-Compassion y prácticas "
        "relacionadas con la autocompasión, y nada más."
    ),
    SUBSCRIBE_HEADING: "Añade las sesiones a tu calendario",
    SUBSCRIBE_INTRO: (
        "Suscríbete una vez y tu aplicación de calendario seguirá el horario: aparecen las sesiones "
        "nuevas, las que cambian de hora se mueven y las canceladas se muestran como canceladas."
    ),
    SUBSCRIBE_BUTTON: "Suscribirme en mi aplicación de calendario",
    SUBSCRIBE_ADDRESS: (
        "Dirección del calendario (para pegarla en una aplicación de calendario, por ejemplo en "
        "«Desde URL» de Google Calendar)"
    ),
    SUBSCRIBE_PRIVATE: (
        "¿Solo quieres las sesiones en las que te apuntaste? En Discord, /calendar subscribe te da un "
        "enlace privado para ti."
    ),
    FOOTER_COORDINATORS: "¿Preguntas o inquietudes? Escribe a nuestro equipo voluntario de coordinación",
    FOOTER_DONATE: "Apoya al Center for Mindful Self-Compassion",
    FOOTER_SHARE: "Comparte esta propuesta",
    FOOTER_COMMUNITY: "Únete a la comunidad global de MSC",
}

# Each language's table of translations; a language without a table is not offered.
TRANSLATIONS: Final[dict[str, dict[str, str]]] = {"en": {}, "es": SPANISH}

# --- Plain answers of the web server (calendar apps show them as they are; English only) ------------
FEED_NOT_FOUND = (
    "This calendar link is not in use: it was replaced by a newer one or revoked. In Discord, "
    "/calendar subscribe gives you a new link."
)
NOT_FOUND = "There is nothing at this address. The schedule page is at {url}"
SERVER_ERROR = "Something went wrong on our side (reference {reference}). Please try again in a little while."
HEALTHY = "Practice Circles web server: ok"
