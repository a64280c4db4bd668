"""Identity: face analysis of card references, cards -> conditions, consistency scores."""
