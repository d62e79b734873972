//! Compiles `proto/` with protox (no system `protoc`) and generates prost
//! messages and tonic clients and servers, plus the encoded descriptor set
//! that server reflection serves.

use std::io;
use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest_dir.join("../../proto").canonicalize()?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);

    let mut files = Vec::new();
    collect_protos(&proto_root, &mut files)?;
    files.sort();

    // Precise rerun triggers: every .proto, and every directory so that an
    // added or removed file is noticed too.
    println!("cargo:rerun-if-changed=build.rs");
    rerun_on_dirs(&proto_root)?;
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }

    let ours: Vec<&PathBuf> = files
        .iter()
        .filter(|f| f.starts_with(proto_root.join("autointel")))
        .collect();
    let descriptors = protox::Compiler::new([&proto_root])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(ours.iter().copied())?
        .file_descriptor_set();

    // What reflection serves (and the gate and the tests enumerate): ours and the vendored
    // Arrow Flight protocol, whose code comes from the `arrow-flight` crate, not from here.
    let served: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            f.starts_with(proto_root.join("autointel")) || f.starts_with(proto_root.join("arrow"))
        })
        .collect();
    let served = protox::Compiler::new([&proto_root])?
        .include_imports(true)
        .include_source_info(true)
        .open_files(served)?
        .file_descriptor_set();
    std::fs::write(
        out_dir.join("autointel_descriptor.bin"),
        prost::Message::encode_to_vec(&served),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .compile_fds(descriptors)?;
    Ok(())
}

fn collect_protos(dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, files)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            files.push(path);
        }
    }
    Ok(())
}

fn rerun_on_dirs(dir: &Path) -> io::Result<()> {
    println!("cargo:rerun-if-changed={}", dir.display());
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rerun_on_dirs(&path)?;
        }
    }
    Ok(())
}
