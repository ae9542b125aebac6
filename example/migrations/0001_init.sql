-- One row per GET / of the example app.
CREATE TABLE visits (
  id INTEGER PRIMARY KEY,
  visited_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
