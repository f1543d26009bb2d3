//! DeBoot's framed protocol (`docs/PROTOCOL.md`), server side, on swarm-net's codec.

use std::io;

use crate::serve::Conn;

/// Serves framed requests on `conn`.
pub(crate) fn serve(conn: &mut Conn<'_>) -> io::Result<()> {
    let _ = conn;
    tracing::warn!("framed protocol not implemented yet; closing");
    Ok(())
}
