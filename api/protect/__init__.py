"""Request protection: rate limits, security headers, the response cache."""
