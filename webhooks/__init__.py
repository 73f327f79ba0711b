"""Outgoing webhooks, the parts the API and the worker's dispatcher share: Standard Webhooks
signing (`signing`) and which targets may be called at all (`targets`). The outbox rows live in
store/webhooks.py; the dispatcher that sends them is worker/webhooks.py.
"""

from webhooks.signing import SECRET_PREFIX, new_secret, signature_headers
from webhooks.targets import TargetRefused, check_target

__all__ = ["SECRET_PREFIX", "TargetRefused", "check_target", "new_secret", "signature_headers"]
