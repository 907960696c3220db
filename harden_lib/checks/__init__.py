"""One module per checklist area; each exposes ``run(env) -> list[Finding]``."""
