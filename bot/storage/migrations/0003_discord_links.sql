-- Discord objects the bot made for a session (its reminder thread, its scheduled event, its card),
-- so a restart finds and updates them instead of making new ones.
CREATE TABLE discord_links (
    occurrence_id INTEGER NOT NULL REFERENCES occurrences (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('thread', 'event', 'card')),
    discord_id    INTEGER NOT NULL,
    created_at    TEXT    NOT NULL,
    PRIMARY KEY (occurrence_id, kind)
) STRICT, WITHOUT ROWID;
CREATE UNIQUE INDEX discord_links_by_object ON discord_links (kind, discord_id);
