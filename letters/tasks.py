from celery import shared_task

from letters import exports


@shared_task
def letter_pdf_render_task(letter_id: int) -> None:
    """Render the letter's PDF for its current revision and signer list, unless
    one exists already (see ``letters.exports.letter_pdf_render``)."""
    exports.letter_pdf_render(letter_id=letter_id)
