"""Reads an `autointel export --format parquet` file with pyarrow and checks its schema
and the seed's two figures (CI runs it from run_against_stack.sh).

Usage: python read_export.py FILE
"""

import datetime
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def main(path: str) -> None:
    table = pq.read_table(path)
    schema = table.schema
    assert schema.field("units").type == pa.int64(), schema
    for column in ("period_start", "period_end", "as_of_date"):
        assert schema.field(column).type == pa.date32(), schema
    assert pa.types.is_timestamp(schema.field("create_time").type), schema
    assert schema.metadata[b"autointel.schema"] == b"autointel.sales_figure.v1"
    rows = sorted(table.to_pylist(), key=lambda r: r["period_start"])
    assert len(rows) == 2, rows
    assert [r["units"] for r in rows] == [974_700, 694_900], rows
    assert rows[1]["period_start"] == datetime.date(2023, 1, 1), rows[1]
    assert rows[1]["period_end"] == datetime.date(2023, 11, 30), rows[1]
    assert rows[1]["organization"] == "nissan-china", rows[1]
    assert rows[1]["source"] == "article-nissan-china-exports-2023", rows[1]
    assert rows[1]["supersedes"] is None, rows[1]
    print(f"ok: pyarrow read {len(rows)} figures from {path}")


if __name__ == "__main__":
    main(sys.argv[1])
