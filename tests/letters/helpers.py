import io
import threading

from django.db import connection
from pypdf import PdfReader

from letters.services import letter_update_draft


def edit_draft(letter, actor, **changes):
    """Save the working draft with ``changes`` and the rest as it is."""
    fields = {
        "title": letter.title,
        "addressee": letter.addressee,
        "points": letter.points,
        "body": letter.body,
        **changes,
    }
    return letter_update_draft(letter=letter, actor=actor, **fields)


def run_at_once(count, work):
    """Run ``work`` in ``count`` threads released together; results or errors."""
    barrier = threading.Barrier(count)
    results = []

    def target():
        barrier.wait()
        try:
            results.append(work())
        except Exception as exc:
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
