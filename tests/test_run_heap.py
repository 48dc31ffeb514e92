"""The driver gives its freed heap back to the OS now and then (glibc's malloc_trim), never on every tick."""

from __future__ import annotations

from claim_assess.run.heap import HeapTrim, _malloc_trim


def test_the_heap_is_trimmed_once_per_interval():
    now = [0.0]
    calls: list[int] = []
    heap = HeapTrim(every_s=10.0, clock=lambda: now[0], trim=lambda pad: calls.append(pad) or 1)
    assert not heap.maybe()
    now[0] = 9.9
    assert not heap.maybe()
    now[0] = 10.0
    assert heap.maybe() and calls == [0]
    now[0] = 15.0
    assert not heap.maybe()
    now[0] = 20.0
    assert heap.maybe() and calls == [0, 0]


def test_glibc_trims_and_other_c_libraries_are_left_alone():
    trim = _malloc_trim()
    if trim is not None:  # glibc: the real call works
        assert trim(0) in (0, 1)
    assert HeapTrim(every_s=0.0, trim=None).maybe() is (trim is not None)
