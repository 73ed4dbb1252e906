"""Storage: typed models, migrations, and the repositories the rest of the service talks to."""
