"""Small rules for putting strangers' words into the site's sentences."""


def before_full_stop(value: object) -> str:
    """``value`` as it reads when the sentence's own full stop follows it.

    A name that ends in an abbreviation ("Öko-Schulweg e.V.", "Acme Ltd.")
    keeps its one full stop, which also ends the sentence: "e.V.." never.
    """
    text = str(value).rstrip()
    return text[:-1] if text.endswith(".") else text
