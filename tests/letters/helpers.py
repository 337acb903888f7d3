import io
import threading

from django.db import connections
from pypdf import PdfReader

from letters.services.letters import letter_update_draft


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


def race(*works):
    """Run each of ``works`` in a thread of its own, released together by a
    barrier; what each returned or raised, in the same order."""
    barrier = threading.Barrier(len(works))
    results: list[object] = [None] * len(works)

    def run(index, work):
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=run, args=(i, work)) for i, work in enumerate(works)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def run_at_once(count, work):
    """Run ``work`` in ``count`` threads released together; results or errors."""
    return race(*[work] * count)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
