"""The tip approval policy shared by the relayer's hourly approver and the API's on-stream gifts."""
