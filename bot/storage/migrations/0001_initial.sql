-- Practice Circles schema 1.
--
-- Conventions: every instant is fixed-width ISO 8601 UTC text ending in 'Z'
-- ('2025-03-09T17:00:00.000000Z'), so text order is time order; dates are 'YYYY-MM-DD';
-- Discord ids are INTEGER (snowflakes fit in 63 bits). STRICT tables make SQLite refuse values
-- of the wrong type instead of storing them quietly.

-- A weekly rule entered by a coordinator at a Pacific wall-clock time.
CREATE TABLE series (
    id               INTEGER PRIMARY KEY,
    title            TEXT    NOT NULL CHECK (length(title) > 0),
    weekdays         TEXT    NOT NULL CHECK (length(weekdays) >= 2),  -- 'MO,WE' (RFC 5545 BYDAY codes)
    local_time       TEXT    NOT NULL CHECK (local_time GLOB '[0-2][0-9]:[0-5][0-9]'),
    interval_weeks   INTEGER NOT NULL DEFAULT 1 CHECK (interval_weeks >= 1),
    starts_on        TEXT    NOT NULL,
    until            TEXT    CHECK (until IS NULL OR until >= starts_on),
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
    channel_id       INTEGER NOT NULL,
    default_practice TEXT,
    status           TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'ended')),
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
) STRICT;

-- One session. recurrence_id is the start the rule gave it (for a one-off: its first start) and
-- never changes, so re-expanding a series recognises occurrences that were moved or cancelled.
-- change_version rises with every change members must hear about (cancel, move, channel) and is
-- part of the delivery ledger's key.
CREATE TABLE occurrences (
    id               INTEGER PRIMARY KEY,
    series_id        INTEGER REFERENCES series (id),
    recurrence_id    TEXT    NOT NULL CHECK (recurrence_id LIKE '____-__-__T__:__:__.______Z'),
    start_utc        TEXT    NOT NULL CHECK (start_utc LIKE '____-__-__T__:__:__.______Z'),
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes > 0),
    channel_id       INTEGER NOT NULL,
    title            TEXT    NOT NULL,
    practice         TEXT,
    status           TEXT    NOT NULL DEFAULT 'scheduled'
                     CHECK (status IN ('scheduled', 'cancelled', 'open', 'teacher_led', 'no_teacher', 'closed')),
    change_version   INTEGER NOT NULL DEFAULT 1 CHECK (change_version >= 1),
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    -- NULLs are distinct in UNIQUE, so one-offs (series_id NULL) never collide with each other.
    UNIQUE (series_id, recurrence_id)
) STRICT;
CREATE INDEX occurrences_by_start ON occurrences (start_utc);

-- The teacher holding a session. The primary key is what makes a claim race have one winner.
-- A release deletes the row; claims and releases are recorded in audit_log
-- (actions 'teacher.claim' and 'teacher.release'), which is where their history lives.
CREATE TABLE teacher_claims (
    occurrence_id INTEGER PRIMARY KEY REFERENCES occurrences (id),
    teacher_id    INTEGER NOT NULL,
    claimed_at    TEXT    NOT NULL
) STRICT;
CREATE INDEX teacher_claims_by_teacher ON teacher_claims (teacher_id);

-- Everyone signed up for an occurrence. A series sign-up is materialised here (source 'series')
-- for the series' upcoming occurrences and for each occurrence added later, so this table alone
-- answers "who is coming", and signing out of one occurrence is a plain DELETE.
CREATE TABLE signups (
    occurrence_id INTEGER NOT NULL REFERENCES occurrences (id),
    user_id       INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    source        TEXT    NOT NULL CHECK (source IN ('command', 'button', 'event', 'series')),
    PRIMARY KEY (occurrence_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX signups_by_user ON signups (user_id);

CREATE TABLE series_signups (
    series_id  INTEGER NOT NULL REFERENCES series (id),
    user_id    INTEGER NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (series_id, user_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX series_signups_by_user ON series_signups (user_id);

-- reminder_offsets: minutes before the start, largest first ('60,15'); '' means no reminders;
-- NULL means the community default from the configuration.
CREATE TABLE members (
    user_id          INTEGER PRIMARY KEY,
    timezone         TEXT,
    reminder_offsets TEXT CHECK (reminder_offsets IS NULL OR reminder_offsets NOT GLOB '*[^0-9,]*'),
    reminder_channel TEXT    NOT NULL DEFAULT 'dm' CHECK (reminder_channel IN ('dm', 'thread')),
    dm_closed        INTEGER NOT NULL DEFAULT 0 CHECK (dm_closed IN (0, 1)),
    updated_at       TEXT    NOT NULL
) STRICT;

-- The delivery ledger: one row per message to send. due_at is when it is next due (a retry moves
-- it later); last_error says why the last attempt failed or why the row was dropped.
CREATE TABLE deliveries (
    occurrence_id  INTEGER NOT NULL REFERENCES occurrences (id),
    recipient_id   INTEGER NOT NULL,
    kind           TEXT    NOT NULL CHECK (length(kind) > 0),  -- 'reminder:60', 'notice:cancelled', ...
    change_version INTEGER NOT NULL CHECK (change_version >= 1),
    due_at         TEXT    NOT NULL CHECK (due_at LIKE '____-__-__T__:__:__.______Z'),
    status         TEXT    NOT NULL DEFAULT 'pending'
                   CHECK (status IN ('pending', 'claimed', 'sent', 'dropped')),
    nonce          TEXT    NOT NULL CHECK (length(nonce) BETWEEN 1 AND 25),
    claimed_at     TEXT,
    sent_at        TEXT,
    late           INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
    message_id     INTEGER,
    attempts       INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error     TEXT,
    PRIMARY KEY (occurrence_id, recipient_id, kind, change_version),
    CHECK (status <> 'sent' OR sent_at IS NOT NULL)
) STRICT, WITHOUT ROWID;
-- Partial indexes: the sender only ever scans pending rows by time, and start-up only claimed ones.
CREATE INDEX deliveries_pending_by_due ON deliveries (due_at) WHERE status = 'pending';
CREATE INDEX deliveries_claimed ON deliveries (claimed_at) WHERE status = 'claimed';

-- One stay in a session's voice channel; a person may come and go several times.
CREATE TABLE attendance (
    id            INTEGER PRIMARY KEY,
    occurrence_id INTEGER NOT NULL REFERENCES occurrences (id),
    user_id       INTEGER NOT NULL,
    joined_at     TEXT    NOT NULL,
    left_at       TEXT    CHECK (left_at IS NULL OR left_at >= joined_at)
) STRICT;
CREATE INDEX attendance_by_occurrence ON attendance (occurrence_id, user_id);
-- At most one open stay per person per session, so a repeated voice event cannot double-count.
CREATE UNIQUE INDEX attendance_one_open_stay ON attendance (occurrence_id, user_id) WHERE left_at IS NULL;

CREATE TABLE feedback (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL,
    occurrence_id INTEGER REFERENCES occurrences (id),
    text          TEXT    NOT NULL CHECK (length(text) > 0),
    created_at    TEXT    NOT NULL
) STRICT;
CREATE INDEX feedback_by_time ON feedback (created_at);

-- actor_id NULL means the bot itself; details is a JSON object.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    actor_id INTEGER,
    action   TEXT NOT NULL CHECK (length(action) > 0),
    target   TEXT NOT NULL,
    details  TEXT NOT NULL DEFAULT '{}',
    at       TEXT NOT NULL
) STRICT;
CREATE INDEX audit_log_by_time ON audit_log (at);
