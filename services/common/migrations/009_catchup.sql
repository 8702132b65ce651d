-- 009: notification's catch-up reads the incidents created since the last
-- one it read (every 2 s) to announce those whose classified message was
-- lost: an index on creation time keeps that a short range scan.
CREATE INDEX incidents_created_idx ON incidents (created_at);
