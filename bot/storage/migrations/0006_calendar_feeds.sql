-- A member's private calendar feed: the link carries a secret only the member was shown; the
-- database keeps only its SHA-256, so a copy of the database cannot be turned into links.
-- One feed per member: asking for a new link replaces the old one, and revoking deletes the row.
CREATE TABLE calendar_feeds (
    user_id     INTEGER PRIMARY KEY,
    secret_hash TEXT    NOT NULL UNIQUE CHECK (length(secret_hash) = 64 AND secret_hash NOT GLOB '*[^0-9a-f]*'),
    created_at  TEXT    NOT NULL
) STRICT;
