import threading

from django.db import connection


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
