"""What calls raise (domain events, on a stream with several subscribers) and the status report push:
the outbox written with each settlement, its delivery worker, Standard Webhooks signing and the
SSRF guard on push URLs."""
