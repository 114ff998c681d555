"""Chain access shared by the processes: JSON-RPC client, deployment manifest, artifacts."""
