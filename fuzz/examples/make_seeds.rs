//! Writes seed inputs for the `wire_to_domain` target from the real seed data:
//! every entity of `data/seed/registry.toml` and every figure of
//! `data/seed/sales_figures.csv`, as `[selector byte] ++ prost encoding`.
//!
//!     cargo run --example make_seeds -- <corpus dir>

use autointel_proto::registry as rwire;
use prost::Message;
use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .expect("usage: make_seeds <corpus dir>"),
    );
    std::fs::create_dir_all(&out).expect("corpus dir");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let text =
        std::fs::read_to_string(root.join("data/seed/registry.toml")).expect("registry.toml");
    let data = autointel_registry::seed::parse_dataset(&text).expect("the seed dataset parses");
    let mut seeds: Vec<Vec<u8>> = Vec::new();
    let mut push = |selector: u8, bytes: Vec<u8>| {
        let mut seed = vec![selector];
        seed.extend(bytes);
        seeds.push(seed);
    };
    for o in &data.organizations {
        push(0, rwire::Organization::from(o).encode_to_vec());
    }
    for r in &data.relationships {
        push(1, rwire::Relationship::from(r).encode_to_vec());
    }
    for p in &data.partnerships {
        push(2, rwire::Partnership::from(p).encode_to_vec());
    }
    for e in &data.events {
        push(3, rwire::Event::from(e).encode_to_vec());
    }
    for t in &data.targets {
        push(4, rwire::Target::from(t).encode_to_vec());
    }
    for s in &data.sources {
        push(5, rwire::Source::from(s).encode_to_vec());
    }
    for p in &data.people {
        push(6, rwire::Person::from(p).encode_to_vec());
    }
    let figures =
        autointel_figure_file::read_sales_figures_file(&root.join("data/seed/sales_figures.csv"))
            .expect("the seed figures parse");
    for f in &figures {
        push(7, f.encode_to_vec());
        if let Some(period) = &f.period {
            push(8, period.encode_to_vec());
        }
        if let Some(series) = &f.series {
            push(10, series.encode_to_vec());
        }
        if let Some(date) = &f.as_of_date {
            push(11, date.encode_to_vec());
        }
    }
    for e in &data.events {
        if let Some(date) = &rwire::Event::from(e).occurred_date {
            push(9, date.encode_to_vec());
        }
    }
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(out.join(format!("seed-{i:03}")), seed).expect("write a seed");
    }
    println!("wrote {} seeds to {}", seeds.len(), out.display());
}
