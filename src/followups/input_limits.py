"""The limits of what a user may type, once: the API's schemas, the pages' forms and their
`maxlength`, the CLI's options and the CSV and JSON imports check against these."""

from __future__ import annotations

NAME_MAX = 200  # a company, a role, a contact's name, any short text
URL_MAX = 2000
EMAIL_MAX = 320
NOTE_MAX = 2000
RESUME_MAX = 100  # a "not now" phrase: "next week", "after the 15th", a date
PASSWORD_MIN, PASSWORD_MAX = 8, 1024
SECRET_MIN, SECRET_MAX = 16, 200  # a webhook's shared secret
ZONE_MAX = 64  # an IANA time zone name
ID_MAX = 64  # an id given in a request
MIN_YEAR, MAX_YEAR = 1970, 2999  # instants and dates outside are refused (422)
