"""PostgreSQL storage: tables, migrations, upserts, scrape-run records and read queries."""
