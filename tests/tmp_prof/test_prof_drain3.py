import cProfile, pstats, io, time
from django.test import Client
from omnidesk.inbound import journal
from tests.conftest import new_resident_id, post_sandbox
from tests.test_inbound_journal import ingest_mode


def test_profile(account):
    residents = [new_resident_id() for _ in range(50)]
    client = Client()
    prof = cProfile.Profile()
    total = cpu = 0.0
    with ingest_mode("worker"):
        for round in range(12):
            for i, r in enumerate(residents):
                post_sandbox(client, account, {"id": f"m-{round}-{i}", "text": "Mijn fiets is weg " * 5, "name": f"Piet {i}"}, r)
            if round >= 2:
                t = time.perf_counter(); c = time.process_time()
                if round >= 7: prof.enable()
                journal.drain_all()
                if round >= 7: prof.disable()
                else:
                    total += time.perf_counter() - t; cpu += time.process_time() - c
            else:
                journal.drain_all()
    print(f"\n5 batches of 50: {total*1000/250:.3f} ms/msg wall, {cpu*1000/250:.3f} ms/msg cpu")
    s = io.StringIO(); pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(40); print(s.getvalue()[:8000])
