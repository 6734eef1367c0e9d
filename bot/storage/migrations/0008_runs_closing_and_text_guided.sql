-- The room in real conditions (issue 9):
-- * a 'closing' phase: a run is 'closed' only once every restriction it applied has been lifted;
--   until then it stays 'closing' and the bot retries (at start-up too);
-- * restore_attempts / restore_alerted: how often lifting failed, and whether the coordinators have
--   been told (once) what to do by hand;
-- * text_guided: the room is led in words only (the voice connection is busy in another session,
--   or kept failing), so a restart carries on the same way.
-- SQLite cannot change a CHECK constraint in place, so the table is rebuilt; nothing references it.
CREATE TABLE session_runs_new (
    occurrence_id    INTEGER PRIMARY KEY REFERENCES occurrences (id),
    venue            TEXT    NOT NULL CHECK (venue IN ('stage', 'voice')),
    phase            TEXT    NOT NULL
                     CHECK (phase IN ('open', 'teacher_led', 'welcome', 'choosing', 'recording', 'silent_sit',
                                      'resting', 'closing', 'closed')),
    phase_started_at TEXT    NOT NULL,
    phase_ends_at    TEXT,
    choice           TEXT,
    chosen_by        INTEGER,
    restrictions     TEXT    NOT NULL DEFAULT '{}' CHECK (json_valid(restrictions)),
    updated_at       TEXT    NOT NULL,
    text_guided      INTEGER NOT NULL DEFAULT 0 CHECK (text_guided IN (0, 1)),
    restore_attempts INTEGER NOT NULL DEFAULT 0 CHECK (restore_attempts >= 0),
    restore_alerted  INTEGER NOT NULL DEFAULT 0 CHECK (restore_alerted IN (0, 1))
) STRICT;

INSERT INTO session_runs_new (occurrence_id, venue, phase, phase_started_at, phase_ends_at, choice, chosen_by,
                              restrictions, updated_at)
SELECT occurrence_id, venue, phase, phase_started_at, phase_ends_at, choice, chosen_by, restrictions, updated_at
FROM session_runs;

DROP TABLE session_runs;

ALTER TABLE session_runs_new RENAME TO session_runs;
