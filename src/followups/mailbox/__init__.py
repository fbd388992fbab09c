"""The user's own mailbox over IMAP and SMTP: connect, sync, drafts and sends."""
