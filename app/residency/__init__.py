"""Where the product's data lives: blob stores for files (the database holds the rows)."""
