-- The session runner's state, one row per session that opened, so a restart resumes exactly:
-- which phase it is in, until when, what was chosen, and every restriction the bot applied
-- (so all of it is restored at close, even after a crash).
CREATE TABLE session_runs (
    occurrence_id    INTEGER PRIMARY KEY REFERENCES occurrences (id),
    venue            TEXT    NOT NULL CHECK (venue IN ('stage', 'voice')),
    phase            TEXT    NOT NULL
                     CHECK (phase IN ('open', 'teacher_led', 'welcome', 'choosing', 'recording', 'silent_sit',
                                      'resting', 'closed')),
    phase_started_at TEXT    NOT NULL,
    phase_ends_at    TEXT,
    choice           TEXT,
    chosen_by        INTEGER,
    restrictions     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(restrictions)),
    updated_at       TEXT    NOT NULL
) STRICT;

-- Members the bot server-muted who left voice before it could unmute them (Discord only lets a
-- server mute be lifted while the member is connected): unmuted the next time they connect.
CREATE TABLE pending_unmutes (
    user_id    INTEGER PRIMARY KEY,
    since      TEXT    NOT NULL
) STRICT;
