"""Security and reliability cases of RELIABILITY.md owned by the API/security suite."""
