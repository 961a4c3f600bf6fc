//! Render: the computed result as files. Works from the result only and never re-reads
//! inputs. For now the machine-readable `invoice.json`; pages come with the portals.

pub mod json;
