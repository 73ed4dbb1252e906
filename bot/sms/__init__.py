"""The SMS channel through Twilio: outbound reminders, inbound texts and delivery receipts."""
