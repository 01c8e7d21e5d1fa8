"""Email through Django's email backends: `var/outbox/email/` by default (the file backend), SMTP
or a django-anymail provider by settings.

Every email is plain text. Marketing email carries `List-Unsubscribe` (the signed link) and
`List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058). The Message-ID is the message's
own, so a message taken over after a crash is found again in the file outbox; SMTP and providers
are at least once (a crash between their answer and our status update sends it again).
"""

from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.utils import translation
from django.utils.translation import gettext

from kopilka.messaging.channels import OneByOne, Outgoing, SendFailed, Sent

FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def message_id(message: Outgoing) -> str:
    return f"<kopilka-{message.message_id}@{settings.KOPILKA_EMAIL_DOMAIN}>"


def email_body(message: Outgoing) -> str:
    """The plain text; advertising ends with its unsubscribe link, visible to every reader."""
    if not message.unsubscribe_url:
        return message.text
    with translation.override(message.language):
        footer = gettext("You get this email because you agreed to our news. Unsubscribe: %(url)s")
    return f"{message.text}\n\n--\n" + footer % {"url": message.unsubscribe_url}


class DjangoEmail(OneByOne):
    name = "email"

    def send(self, message: Outgoing) -> Sent:
        headers = {"Message-ID": message_id(message)}
        if message.unsubscribe_url:
            headers["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        email = EmailMessage(
            subject=message.subject,
            body=email_body(message),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
            headers=headers,
            connection=get_connection(fail_silently=False),
        )
        try:
            email.send()
        except OSError as exc:  # SMTP errors are OSErrors; anymail's are raised as theirs
            raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
        return Sent(settings.EMAIL_BACKEND.rsplit(".", 2)[-2], message_id(message))

    def already_sent(self, message: Outgoing) -> Sent | None:
        if settings.EMAIL_BACKEND != FILE_BACKEND:
            return None
        wanted = f"Message-ID: {message_id(message)}"
        for path in Path(settings.EMAIL_FILE_PATH).glob("*.log"):
            if wanted in path.read_text(encoding="utf-8", errors="replace"):
                return Sent("filebased", message_id(message))
        return None
