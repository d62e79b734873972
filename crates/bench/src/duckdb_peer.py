# DuckDB peer for autointel-bench: loads the generated CSV, derives the query table and times
# every query with 1 thread and with all cores. Reads a JSON job on argv[1], prints JSON.
import json
import statistics
import sys
import time

import duckdb

job = json.load(open(sys.argv[1]))
con = duckdb.connect()
con.execute(f"SET threads = {job['all_threads']}")
con.execute(f"CREATE TABLE raw ({job['raw_columns']})")
t0 = time.perf_counter()
con.execute(f"INSERT INTO raw SELECT * FROM read_csv('{job['csv']}', header = true, "
            f"columns = {{{job['read_csv_columns']}}})")
load = time.perf_counter() - t0
rows = con.execute("SELECT count(*) FROM raw").fetchone()[0]
t0 = time.perf_counter()
con.execute(job["derive"])
derive = time.perf_counter() - t0
con.execute("DROP TABLE raw")
out = {"version": duckdb.__version__, "load_s": load, "rows": rows, "derive_s": derive,
       "runs": {}}
for threads in job["threads"]:
    con.execute(f"SET threads = {threads}")
    res = {}
    for q in job["queries"]:
        sql = q["sql"]
        con.execute(sql).fetchall()  # warm-up
        times = []
        budget = job["budget_s"]
        start = time.perf_counter()
        while len(times) < job["min_iters"] or (time.perf_counter() - start < budget
                                                 and len(times) < job["max_iters"]):
            t = time.perf_counter()
            con.execute(sql).fetchall()
            times.append(time.perf_counter() - t)
        times.sort()
        check = con.execute(f"SELECT CAST({q['check']} AS BIGINT) FROM ({sql}) q").fetchone()[0]
        res[q["name"]] = {
            "median_us": statistics.median(times) * 1e6,
            "p99_us": times[min(len(times) - 1, int(len(times) * 0.99))] * 1e6,
            "n": len(times),
            "check": int(check or 0),
        }
    out["runs"][str(threads)] = res

# A restart: the derived table persisted in a database file, then a fresh process opens it
# and answers the YoY query (timed inside that process, from connect to the answer, so the
# interpreter's own start-up is not counted against DuckDB).
if job.get("persist"):
    import os
    import subprocess
    path = job["persist"]
    for p in (path, path + ".wal"):
        if os.path.exists(p):
            os.remove(p)
    con.execute(f"ATTACH '{path}' AS p")
    con.execute("CREATE TABLE p.f AS SELECT * FROM f")
    con.execute("DETACH p")
    opener = (
        "import duckdb, json, sys, time\n"
        "t = time.perf_counter()\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "con.execute(sys.argv[2]).fetchall()\n"
        "print(json.dumps({'open_and_answer_s': time.perf_counter() - t}))\n"
    )
    yoy = next(q["sql"] for q in job["queries"] if q["name"] == "yoy_cum")
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", opener, path, yoy], check=True,
                          capture_output=True, text=True)
    out["restart"] = json.loads(done.stdout)
    out["restart"]["process_s"] = time.perf_counter() - t
    out["restart"]["bytes"] = os.path.getsize(path)
print(json.dumps(out))
