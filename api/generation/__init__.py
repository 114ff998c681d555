"""AI generation jobs paid in credits (README "Generation")."""
