"""Media: objects in S3-compatible storage, uploaded by presigned POST and confirmed before use."""
