"""The nccl-tests layout of collectives tables: both passes of one size on one row."""

from __future__ import annotations

import io

from exabench.bench.table import TablePrinter
from exabench.documents.run import make_result


def _coll(name: str, nbytes: int, inplace: bool, seconds: float = 1e-3, wrong: int = 0) -> dict:
    params = {
        "collective": name,
        "bytes": nbytes,
        "count": nbytes // 4,
        "nranks": 2,
        "dtype": "fp32",
        "inplace": inplace,
        "op": "sum" if name == "all_reduce" else None,
        "root": None,
    }
    return make_result(
        suite="collectives",
        name=name,
        params=params,
        samples=[seconds],
        metrics={"algbw_gbps": nbytes / 1e9 / seconds, "busbw_gbps": 0.5, "wrong": wrong},
    )


def test_out_of_place_and_in_place_share_a_row() -> None:
    out = io.StringIO()
    table = TablePrinter(out)
    table.row(_coll("all_gather", 4096, False, 2e-6))
    assert "all_gather" not in out.getvalue()  # waits for its in-place partner
    table.row(_coll("all_gather", 4096, True, 4e-6))
    table.row(_coll("all_reduce", 4096, True))  # no out-of-place pass in torch.distributed
    table.row(_coll("sendrecv", 4096, False))  # no in-place pass
    table.finish()
    lines = out.getvalue().splitlines()
    assert "out-of-place" in lines[1] and "in-place" in lines[1]
    assert lines[2].split()[1:7] == ["collective", "size", "count", "type", "redop", "root"]
    assert lines[3].split().count("(GB/s)") == 4
    rows = [line.split() for line in lines[4:]]
    assert rows[0] == ["all_gather", "4096", "1024", "fp32", "none", "-1",
                       "2.00", "2.05", "0.50", "0", "4.00", "1.02", "0.50", "0"]
    assert rows[1][:7] == ["all_reduce", "4096", "1024", "fp32", "sum", "-1", "-"]
    assert rows[2][-4:] == ["-", "-", "-", "-"] and rows[2][0] == "sendrecv"


def test_a_lone_first_pass_is_printed_when_the_next_size_arrives() -> None:
    out = io.StringIO()
    table = TablePrinter(out)
    table.row(_coll("all_to_all", 1024, False))
    table.row(_coll("all_to_all", 2048, False))
    assert "1024" in out.getvalue() and "2048" not in out.getvalue()
    table.finish()
    assert "2048" in out.getvalue()
