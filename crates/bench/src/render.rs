//! The results tables (BENCHMARKS.md's format) from each size's JSON.

use std::io::Write as _;

use serde_json::Value;

use crate::{destinations, fmt_us, groups, shapes};

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn check_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn render(report: &[(String, Value)]) -> String {
    let mut s = String::new();
    let mut w = |line: String| {
        s.push_str(&line);
        s.push('\n');
    };
    w("Shapes:\n".to_owned());
    for shape in shapes::shapes().iter().filter(|s| !s.as_of) {
        w(format!("- `{}`: {}", shape.name, shape.what));
    }
    w("- `…+asof`: the same, as known on 2024-02-20".to_owned());
    for shape in destinations::SHAPES {
        w(format!("- `{}`: {}", shape.name, shape.what));
    }
    for shape in groups::SHAPES {
        w(format!("- `{}`: {}", shape.name, shape.what));
    }
    for (size, r) in report {
        let cores = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .to_string();
        if r["engine"].is_null() && !r["flight"].is_null() {
            w(format!(
                "\n### {size}: analysts' access only ({} figures)",
                r["figures"]
            ));
            flight_table(&mut w, &r["flight"]);
            continue;
        }
        if r["engine"].is_null() && !r["groups"].is_null() {
            w(format!(
                "\n### {size}: rankings of groups only ({} figures)",
                r["figures"]
            ));
            group_table(&mut w, &r["groups"], &r["duckdb"], &cores);
            continue;
        }
        if r["engine"].is_null() {
            w(format!("\n### {size}: destination shapes only"));
            destination_table(&mut w, &r["destinations"], &cores);
            continue;
        }
        w(format!(
            "\n### {size}: {} figures, {} series, CSV {:.1} MB\n",
            r["figures"],
            r["series"],
            f(&r["csv_bytes"]) / 1e6
        ));
        w("| shape | engine median | engine p99 | DuckDB 1T | DuckDB all | PG 1T | PG all | vs DuckDB 1T | vs DuckDB all | vs PG 1T | vs PG all | answers agree | targets |".to_owned());
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|".to_owned());
        // Every shape the run measured (`--only-shapes` measures some).
        for shape in shapes::shapes()
            .into_iter()
            .filter(|s| !r["engine"][s.name].is_null())
        {
            let e = &r["engine"][shape.name];
            let em = f(&e["median_us"]);
            let d1 = &r["duckdb"]["runs"]["1"][shape.name];
            let dn = &r["duckdb"]["runs"][&cores][shape.name];
            let p1 = &r["postgres"]["runs"]["1"][shape.name];
            let pn = &r["postgres"]["runs"]["all"][shape.name];
            let ratio = |v: &Value| ratio_cell(v, em);
            let need = if shape.ten_x { 10.0 } else { 1.0 };
            let x = |v: &Value| f(&v["median_us"]) / em;
            let duck_ok = [d1, dn].iter().all(|v| v.is_null() || x(v) >= need);
            let pg_ok = [p1, pn].iter().all(|v| v.is_null() || x(v) >= 50.0);
            let targets = match (duck_ok, pg_ok) {
                (true, true) => "met".to_owned(),
                (false, true) => format!("MISSED (DuckDB ≥{need:.0}×)"),
                (true, false) => "MISSED (PG ≥50×)".to_owned(),
                (false, false) => format!("MISSED (DuckDB ≥{need:.0}×, PG ≥50×)"),
            };
            let agree = agrees(e, &[d1, p1]);
            w(format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                shape.name,
                fmt_us(em),
                fmt_us(f(&e["p99_us"])),
                cell(d1),
                cell(dn),
                cell(p1),
                cell(pn),
                ratio(d1),
                ratio(dn),
                ratio(p1),
                ratio(pn),
                if agree { "yes" } else { "NO" },
                targets
            ));
        }
        destination_table(&mut w, &r["destinations"], &cores);
        group_table(&mut w, &r["groups"], &r["duckdb"], &cores);
        let el = &r["engine_load"];
        w(String::new());
        w("| cost | value |".to_owned());
        w("|---|---|".to_owned());
        w(format!(
            "| engine build from domain figures | {:.2} s ({:.0} figures/s) |",
            f(&el["load_s"]),
            f(&el["figures_per_s"])
        ));
        w(format!(
            "| engine resident memory | {:.1} MB, {:.1} bytes/figure |",
            f(&el["rss_delta_bytes"]) / 1e6,
            f(&el["bytes_per_figure"])
        ));
        let snap = &r["engine_snapshot"];
        if !snap.is_null() {
            w(format!(
                "| engine snapshot: write (synced) / read back | {:.2} s / {:.2} s, {:.1} MB, {:.1} bytes/figure |",
                f(&snap["write_s"]),
                f(&snap["read_s"]),
                f(&snap["bytes"]) / 1e6,
                f(&snap["bytes_per_figure"])
            ));
        }
        for (label, key) in [
            ("import CSV → SQLite (ours)", "import_sqlite"),
            ("import CSV → PostgreSQL (ours)", "import_postgres"),
        ] {
            let v = &r[key];
            if !v.is_null() {
                w(format!(
                    "| {label} | {:.2} s, {:.0} figures/s (parse {:.2} s, write {:.2} s) |",
                    f(&v["seconds"]),
                    f(&v["figures_per_s"]),
                    f(&v["parse_s"]),
                    f(&v["write_s"])
                ));
            }
        }
        let n = f(&r["figures"]);
        if !r["postgres"].is_null() {
            let c = f(&r["postgres"]["copy_s"]);
            w(format!(
                "| PostgreSQL COPY (same CSV) | {c:.2} s, {:.0} rows/s; ours/COPY = {:.2} |",
                n / c,
                f(&r["import_postgres"]["figures_per_s"]) / (n / c)
            ));
        }
        if !r["duckdb"].is_null() {
            let c = f(&r["duckdb"]["load_s"]);
            w(format!(
                "| DuckDB read_csv (same CSV) | {c:.2} s, {:.0} rows/s |",
                n / c
            ));
        }
        let sv = &r["service"];
        if !sv.is_null() {
            w(format!(
                "| stats-server start-up (SQLite → engine, until serving) | {:.2} s |",
                f(&sv["startup_s"])
            ));
            w(format!(
                "| stats-server resident memory after load | {:.1} MB, {:.1} bytes/figure |",
                f(&sv["server_rss_bytes"]) / 1e6,
                f(&sv["server_rss_bytes"]) / n
            ));
            let duck = &r["duckdb"]["restart"];
            w(format!(
                "| stats-server restart with its snapshot (SQLite), spawn → first YoY answer | {:.2} s ({:.1} MB snapshot; {:.1} bytes/figure resident) |",
                f(&sv["restart_s"]),
                f(&sv["snapshot_bytes"]) / 1e6,
                f(&sv["restart_rss_bytes"]) / n
            ));
            if !duck.is_null() {
                w(format!(
                    "| DuckDB opening its persisted database → first YoY answer | {:.2} s in process ({:.2} s with the interpreter's start), {:.1} MB file; ours/DuckDB = {:.2} |",
                    f(&duck["open_and_answer_s"]),
                    f(&duck["process_s"]),
                    f(&duck["bytes"]) / 1e6,
                    f(&sv["restart_s"]) / f(&duck["open_and_answer_s"])
                ));
            }
            let pg = &r["service_postgres"];
            if !pg.is_null() {
                w(format!(
                    "| stats-server on PostgreSQL: full load / a new replica with the snapshot in PostgreSQL, spawn → first answer | {:.2} s / {:.2} s ({:.1} MB snapshot) |",
                    f(&pg["full_load_s"]),
                    f(&pg["replica_start_s"]),
                    f(&pg["snapshot_bytes"]) / 1e6
                ));
            }
            let im = &r["import_beside_a_replica"];
            if !im.is_null() {
                let (before, during) = (&im["other_queries_before"], &im["other_queries_during"]);
                w(format!(
                    "| import of {:.0} figures through one replica beside another (PostgreSQL): acknowledged after / the other answers with them after the acknowledgement | {:.1} s / {:.3} s |",
                    f(&im["figures"]),
                    f(&im["import_s"]),
                    f(&im["visible_after_ack_s"])
                ));
                w(format!(
                    "| importing replica's resident memory: steady → peak (peak − steady) | {:.1} MB → {:.1} MB ({:.1} MB) |",
                    f(&im["importer_steady_rss_bytes"]) / 1e6,
                    f(&im["importer_peak_rss_bytes"]) / 1e6,
                    f(&im["importer_peak_over_steady_bytes"]) / 1e6
                ));
                w(format!(
                    "| the other replica's YoY query (one client in a loop): p50 / p99 / max before, then throughout the import | {:.2} / {:.2} / {:.2} ms, then {:.2} / {:.2} / {:.2} ms ({:.0} queries) |",
                    f(&before["p50_us"]) / 1e3,
                    f(&before["p99_us"]) / 1e3,
                    f(&before["max_us"]) / 1e3,
                    f(&during["p50_us"]) / 1e3,
                    f(&during["p99_us"]) / 1e3,
                    f(&during["max_us"]) / 1e3,
                    f(&during["queries"])
                ));
            }
            w(String::new());
            w(
                "| service (h2load) | req/s | p50 | p90 | p99 | bytes/response | grpc-status |"
                    .to_owned(),
            );
            w("|---|---|---|---|---|---|---|".to_owned());
            for key in ["ceiling", "stats_health", "stats_yoy"] {
                let h = &sv[key];
                if h.is_null() {
                    continue;
                }
                w(format!(
                    "| {} | {:.0} | {} | {} | {} | {} | {} |",
                    h["label"].as_str().unwrap_or(key),
                    f(&h["rps"]),
                    fmt_us(f(&h["p50_us"])),
                    fmt_us(f(&h["p90_us"])),
                    fmt_us(f(&h["p99_us"])),
                    h["bytes_per_response"],
                    check_text(&h["grpc_status"])
                ));
            }
            w(format!(
                "\nservice throughput ratio (stats YoY / bare tonic ceiling): {:.0}%; \
                 stats-server's own stack on a trivial call / ceiling: {:.0}%",
                100.0 * f(&sv["stats_yoy"]["rps"]) / f(&sv["ceiling"]["rps"]),
                100.0 * f(&sv["stats_health"]["rps"]) / f(&sv["ceiling"]["rps"])
            ));
        }
        flight_table(&mut w, &r["flight"]);
    }
    let _ = std::io::stdout().flush();
    s
}

/// Every figure over Arrow Flight against paged gRPC, and the Parquet export against
/// DuckDB's `COPY`, when they ran.
fn flight_table(w: &mut impl FnMut(String), fl: &Value) {
    if fl.is_null() {
        return;
    }
    let duck = &fl["duckdb"];
    w(String::new());
    w("| analysts' access | measured |".to_owned());
    w("|---|---|".to_owned());
    w(format!(
        "| every figure ({:.0}) to a `pyarrow.flight` client | {:.2} s, **{:.0} rows/s** |",
        f(&fl["rows"]),
        f(&fl["flight_s"]),
        f(&fl["flight_rows_per_s"])
    ));
    w(format!(
        "| paging `ListSalesFigures` (1,000 a page) over gRPC | {:.0} rows/s; Flight / paging = **{:.1}×** |",
        f(&fl["paging_rows_per_s"]),
        f(&fl["flight_over_paging"])
    ));
    w(format!(
        "| stats-server resident memory while streaming: steady → peak | {:.1} MB → {:.1} MB |",
        f(&fl["server_steady_rss_bytes"]) / 1e6,
        f(&fl["server_peak_rss_bytes"]) / 1e6
    ));
    w(format!(
        "| `autointel export --format parquet` (Flight → Arrow writer) | {:.2} s, {:.1} MB |",
        f(&fl["export_parquet_s"]),
        f(&fl["export_parquet_bytes"]) / 1e6
    ));
    let copy = duck["copy_s"].as_object().cloned().unwrap_or_default();
    let cells: Vec<String> = copy
        .iter()
        .map(|(threads, s)| format!("{:.2} s with {threads} thread(s)", f(s)))
        .collect();
    w(format!(
        "| DuckDB {} `COPY f TO 'x.parquet'` of the same table | {}, {:.1} MB; ours / DuckDB = **{:.2}** (1 thread), {:.2} (all cores) |",
        duck["version"].as_str().unwrap_or("?"),
        cells.join(", "),
        f(&duck["bytes"]) / 1e6,
        f(&fl["export_over_duckdb_1_thread"]),
        f(&fl["export_over_duckdb_all_threads"])
    ));
}

/// The destination shapes' table, when they ran.
fn destination_table(w: &mut impl FnMut(String), dest: &Value, cores: &str) {
    if dest.is_null() {
        return;
    }
    w(format!(
        "\nExports by destination: {} figures of their own ({} origins × 62 series), \
         engine built in {:.2} s\n",
        dest["load"]["figures"],
        dest["load"]["origins"],
        f(&dest["load"]["load_s"])
    ));
    ten_times_header(w);
    for shape in destinations::SHAPES {
        let e = &dest["engine"][shape.name];
        ten_times_row(w, shape.name, e, &dest["duckdb"], cores);
    }
}

/// The rankings of groups on the main figures (`groups`) beside DuckDB's (`duckdb`).
fn group_table(w: &mut impl FnMut(String), groups: &Value, duckdb: &Value, cores: &str) {
    if groups.is_null() {
        return;
    }
    w(format!(
        "\nRankings of groups over {} relationships (joint ventures held 50%, brands wholly):\n",
        groups["relationships"]
    ));
    ten_times_header(w);
    for shape in groups::SHAPES {
        ten_times_row(w, shape.name, &groups[shape.name], duckdb, cores);
    }
}

/// The head of a table of [`ten_times_row`]s.
fn ten_times_header(w: &mut impl FnMut(String)) {
    w("| shape | engine median | engine p99 | DuckDB 1T | DuckDB all | vs DuckDB 1T | vs DuckDB all | answers agree | target (≥10× DuckDB) |".to_owned());
    w("|---|---|---|---|---|---|---|---|---|".to_owned());
}

/// A row of a table whose target is ≥ 10× DuckDB thread for thread: the engine's cell `e`
/// beside DuckDB's runs of the shape `name` in `duckdb`.
fn ten_times_row(w: &mut impl FnMut(String), name: &str, e: &Value, duckdb: &Value, cores: &str) {
    let em = f(&e["median_us"]);
    let d1 = &duckdb["runs"]["1"][name];
    let dn = &duckdb["runs"][cores][name];
    let met = [d1, dn]
        .iter()
        .all(|v| v.is_null() || f(&v["median_us"]) / em >= 10.0);
    w(format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        name,
        fmt_us(em),
        fmt_us(f(&e["p99_us"])),
        cell(d1),
        cell(dn),
        ratio_cell(d1, em),
        ratio_cell(dn, em),
        if agrees(e, &[d1, dn]) { "yes" } else { "NO" },
        if met { "met" } else { "MISSED" }
    ));
}

/// Whether every peer that ran (`null`: it did not) checked the same answer as the engine.
fn agrees(e: &Value, peers: &[&Value]) -> bool {
    let echeck = check_text(&e["check"]);
    peers
        .iter()
        .filter(|v| !v.is_null())
        .all(|v| check_text(&v["check"]) == echeck)
}

/// A peer's median, or `–` when it did not run.
fn cell(v: &Value) -> String {
    if v.is_null() {
        "–".to_owned()
    } else {
        fmt_us(f(&v["median_us"]))
    }
}

/// How many times slower a peer's median is than the engine's `engine_us`, or `–`.
fn ratio_cell(v: &Value, engine_us: f64) -> String {
    if v.is_null() {
        "–".to_owned()
    } else {
        format!("{:.0}×", f(&v["median_us"]) / engine_us)
    }
}
