"""Notifications: telling people where they are (chat, e-mail, webhooks) what needs them."""
