-- Remember who visited, and make "recent visits" queries cheap.
ALTER TABLE visits ADD COLUMN user_agent TEXT;

CREATE INDEX visits_visited_at ON visits (visited_at);
