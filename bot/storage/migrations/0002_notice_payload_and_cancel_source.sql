-- Notices carry what they announce (e.g. the start a moved session had before), written at the
-- moment of the change, so the message can show old and new even if the session changes again.
ALTER TABLE deliveries ADD COLUMN payload TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload));

-- Who cancelled a session: a coordinator cancelling that one session ('session'), or pausing or
-- ending its whole series ('series'). Resuming a series restores only the latter.
ALTER TABLE occurrences ADD COLUMN cancelled_by TEXT
    CHECK (cancelled_by IS NULL OR cancelled_by IN ('session', 'series'));
