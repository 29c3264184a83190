"""Deadline reminders: which ready task is due a reminder (policy), who receives it, the outbox that claims it
exactly once, in-app notifications, and delivery by e-mail and SMS with retries. Nothing here imports Flask."""
