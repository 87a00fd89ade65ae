"""Channel adapters: provider formats in and out, free of Flask and the database."""
