-- Privacy by default (issue 12).
--
-- Feedback may be anonymous, and a member who asks to be forgotten keeps no authorship: user_id
-- becomes nullable. SQLite cannot relax a NOT NULL in place, so the table is rebuilt as it was
-- with that one change (nothing references feedback, so the rebuild is safe with foreign keys on).
CREATE TABLE feedback_new (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER,
    occurrence_id INTEGER REFERENCES occurrences (id),
    text          TEXT    NOT NULL CHECK (length(text) > 0),
    created_at    TEXT    NOT NULL
) STRICT;
INSERT INTO feedback_new (id, user_id, occurrence_id, text, created_at)
    SELECT id, user_id, occurrence_id, text, created_at FROM feedback;
DROP TABLE feedback;
ALTER TABLE feedback_new RENAME TO feedback;
CREATE INDEX feedback_by_time ON feedback (created_at);

-- A member's own private reminder thread (for closed DMs, or when they prefer a thread): only they
-- are added to it, so nobody else sees which sessions they attend.
ALTER TABLE members ADD COLUMN private_thread_id INTEGER;

-- Members who left the server, so they are forgotten once the retention period has passed
-- (a member who comes back before then is taken off this list).
CREATE TABLE departed_members (
    user_id INTEGER PRIMARY KEY,
    left_at TEXT    NOT NULL CHECK (left_at LIKE '____-__-__T__:__:__.______Z')
) STRICT;

-- Discord objects the bot keeps that belong to no one session, by name (the schedule board's
-- message in the announcements channel: 'board').
CREATE TABLE discord_objects (
    name       TEXT    PRIMARY KEY CHECK (length(name) > 0),
    channel_id INTEGER NOT NULL,
    discord_id INTEGER NOT NULL,
    updated_at TEXT    NOT NULL
) STRICT, WITHOUT ROWID;
