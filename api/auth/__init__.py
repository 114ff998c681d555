"""Accounts and sessions: passwords, JWT access + rotating refresh tokens, SIWE, email OTPs, roles."""
