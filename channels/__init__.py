"""Channel adapters: how a message leaves the product.

`base` defines the outgoing message, the provider's receipt, `ChannelError` and the `Sender`
protocol; `sendgrid_email` (email) and `twilio_messaging` (SMS, WhatsApp, voice) speak to the
providers through their official SDKs; `configured` picks, per channel, the real sender whose
credentials are set or the sandbox that records the message in the database. Only the messaging
activities use this package; workflows never do.
"""
