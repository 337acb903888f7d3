import gzip

import brotli
import pytest

from coalition import compression


@pytest.mark.parametrize(
    ("accept_encoding", "chosen"),
    [
        ("gzip, deflate, br, zstd", "br"),
        ("gzip, deflate", "gzip"),
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=0.5, br;q=0.1", "br"),
        ("GZIP", "gzip"),
        ("*", "br"),
        ("*;q=0", "identity"),
        ("br;q=0, *", "gzip"),
        ("gzip;q=0, br;q=0", "identity"),
        ("identity", "identity"),
        ("", "identity"),
        ("gzip;q=nonsense, ;;, br;q=", "identity"),
    ],
)
def test_encoding_follows_what_the_client_accepts(accept_encoding, chosen):
    assert compression.encoding_for(accept_encoding) == chosen


def test_compressed_bytes_come_back_whole():
    data = b"<li>Air Alliance, Leeds</li>" * 1000

    assert brotli.decompress(compression.compress(data, "br")) == data
    assert gzip.decompress(compression.compress(data, "gzip")) == data
    assert compression.compress(data, "identity") is data


def test_gzip_output_is_the_same_every_time():
    # No timestamp in the header: the same page gives the same bytes.
    data = b"same page" * 100
    assert compression.compress(data, "gzip") == compression.compress(data, "gzip")
