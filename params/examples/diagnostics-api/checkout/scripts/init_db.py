"""Apply the SQL bundle of this release (additive migrations only; see docs/migrations.md)."""

BUNDLE = [
    "CREATE TABLE IF NOT EXISTS diagnostics_reports (id BIGSERIAL PRIMARY KEY, device_id TEXT NOT NULL, created_at TIMESTAMPTZ DEFAULT now())",
    "ALTER TABLE diagnostics_reports ADD COLUMN IF NOT EXISTS firmware TEXT NULL",
    "CREATE TABLE IF NOT EXISTS webhook_targets (id BIGSERIAL PRIMARY KEY, url TEXT NOT NULL, verified BOOLEAN DEFAULT false)",
]

if __name__ == "__main__":
    for statement in BUNDLE:
        print(statement)
