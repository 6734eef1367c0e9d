"""Discord's limits, under one name each (https://discord.com/developers/docs/resources/message)."""

from typing import Final

MESSAGE_CHARS: Final = 2000
EMBED_TITLE_CHARS: Final = 256
EMBED_DESCRIPTION_CHARS: Final = 4096
EMBED_FIELD_NAME_CHARS: Final = 256
EMBED_FIELD_VALUE_CHARS: Final = 1024
EMBED_FIELDS: Final = 25
EMBED_TOTAL_CHARS: Final = 6000
# Autocomplete choices and select options: at most 25, each name or label at most 100 characters.
CHOICES: Final = 25
CHOICE_NAME_CHARS: Final = 100
SELECT_OPTION_DESCRIPTION_CHARS: Final = 100
# A message holds at most 5 rows of 5 buttons.
BUTTONS_PER_ROW: Final = 5
BUTTONS: Final = 25
BUTTON_LABEL_CHARS: Final = 80
THREAD_NAME_CHARS: Final = 100
STAGE_TOPIC_CHARS: Final = 120
