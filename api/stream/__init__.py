"""Live streaming on LiveKit (README "Streaming")."""
