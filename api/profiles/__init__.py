"""Profiles: usernames, names, bio, avatar; the viewer's own profile, password and statistics; social reads."""
