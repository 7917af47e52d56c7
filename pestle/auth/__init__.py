"""Login, tokens, API keys and the principal every endpoint acts for."""
