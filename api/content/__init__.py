"""Content: posts, likes, comments, the public and the personalised feed."""
