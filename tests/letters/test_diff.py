from letters.diff import diff_as_text, diff_revisions, diff_text
from letters.models import Revision


def ops(segments):
    return [(s.op, s.text) for s in segments]


def test_word_level_insertion_and_deletion():
    segments = diff_text(
        "We ask the Council to act.", "We urge the Council to act now."
    )

    assert ops(segments) == [
        ("equal", "We "),
        ("delete", "ask"),
        ("insert", "urge"),
        ("equal", " the Council to "),
        ("delete", "act."),
        ("insert", "act now."),
    ]


def test_identical_texts_have_no_changes():
    assert ops(diff_text("Same words.", "Same words.")) == [("equal", "Same words.")]


def test_revisions_compare_addressee_points_and_body():
    old = Revision(addressee="To the Council", points=["A", "B"], body="Body one.")
    new = Revision(
        addressee="To the Council", points=["A", "B!", "C"], body="Body two."
    )

    fields = diff_revisions(old, new)

    assert [f.label for f in fields] == [
        "Addressee",
        "Point 1",
        "Point 2",
        "Point 3",
        "Letter",
    ]
    assert [f.changed for f in fields] == [False, False, True, True, True]
    assert ops(fields[3].segments) == [("insert", "C")]


def test_text_rendering_for_emails_marks_changes():
    old = Revision(addressee="", points=["Clean air now"], body="Act.")
    new = Revision(addressee="", points=["Clean air by 2027"], body="Act.")

    text = diff_as_text(diff_revisions(old, new))

    assert text == "Point 1:\nClean air [-now-]{+by 2027+}"
