"""Domain errors of subscriptions (mapped to HTTP by ``api/errors.py`` through their roots)."""

from __future__ import annotations

from core.errors import Conflict, NotFound


class AlreadySubscribed(Conflict):
    """The user has a running subscription: a second checkout would bill twice (change its plan instead)."""

    code = "already_subscribed"


class NoSubscription(NotFound):
    """The user has no running subscription to change, cancel or resume."""

    code = "no_subscription"


class SubscriptionEnded(Conflict):
    """The subscription has ended (or its period has): only a new checkout starts another."""

    code = "subscription_ended"


class SamePlan(Conflict):
    """The subscription is on the requested plan already."""

    code = "same_plan"


class NotCancelling(Conflict):
    """Resume asked of a subscription that is not set to end."""

    code = "not_cancelling"
