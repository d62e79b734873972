//! The wire contracts of autointel: prost messages and tonic clients and
//! servers generated from `proto/`, the encoded descriptor set for server
//! reflection, and the conversions between wire and domain types.
//!
//! Wire types stay at the edge: services convert a request into domain
//! values here (collecting every field violation) and convert results back.

/// Generated code for the vendored `google.type` protos.
pub mod google {
    /// `google.type`: calendar dates.
    pub mod r#type {
        #![allow(missing_docs, clippy::all, clippy::pedantic, unused_qualifications)]
        include!(concat!(env!("OUT_DIR"), "/google.r#type.rs"));
    }
}

/// Generated code for the `autointel.*` packages.
pub mod autointel {
    /// Types shared by both services.
    pub mod r#type {
        /// `autointel.type.v1`.
        pub mod v1 {
            #![allow(missing_docs, clippy::all, clippy::pedantic, unused_qualifications)]
            include!(concat!(env!("OUT_DIR"), "/autointel.r#type.v1.rs"));
        }
    }
    /// The registry service.
    pub mod registry {
        /// `autointel.registry.v1`.
        pub mod v1 {
            #![allow(missing_docs, clippy::all, clippy::pedantic, unused_qualifications)]
            include!(concat!(env!("OUT_DIR"), "/autointel.registry.v1.rs"));
        }
    }
    /// The stats service.
    pub mod stats {
        /// `autointel.stats.v1`.
        pub mod v1 {
            #![allow(missing_docs, clippy::all, clippy::pedantic, unused_qualifications)]
            include!(concat!(env!("OUT_DIR"), "/autointel.stats.v1.rs"));
        }
    }
}

pub use autointel::registry::v1 as registry;
pub use autointel::stats::v1 as stats;
pub use autointel::r#type::v1 as types;

pub mod convert;

/// Encoded `FileDescriptorSet` of every autointel proto, the vendored Arrow Flight protocol
/// (`arrow.flight.protocol`, served by stats) and their imports, with source info, for server
/// reflection and the gate's table of methods.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/autointel_descriptor.bin"));
