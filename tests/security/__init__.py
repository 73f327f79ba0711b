"""Security and reliability cases of docs/reliability.md owned by the API/security suite."""
