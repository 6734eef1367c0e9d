-- The member's DM channel with the bot, once a direct message has reached them there. A DM
-- channel's id never changes, so later reminders post to it directly instead of opening the
-- channel again (one request instead of two; and Discord does not count it as opening a new DM).
ALTER TABLE members ADD COLUMN dm_channel_id INTEGER;
