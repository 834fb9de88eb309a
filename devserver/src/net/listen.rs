//! The accept loop both ports share: TCP accept, optional TLS, one tracked task per
//! connection.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::gateway::conn::BoxIo;
use crate::shared::Shared;

/// Time allowed for a TLS handshake (the gateway's `websocketTimeout` is 10 s too).
const TLS_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections on `listener` until the task is aborted. A connection is closed at
/// once when `refuse` says so; otherwise it gets TLS (when `tls` is set) and is served by
/// `serve` in its own task, which the server aborts when it stops.
pub(crate) async fn accept_loop<F, Fut>(
    name: &'static str,
    shared: Arc<Shared>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    refuse: fn(&Shared) -> bool,
    serve: F,
) where
    F: Fn(Arc<Shared>, BoxIo) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    loop {
        let tcp = match listener.accept().await {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                log::warn!("{name} accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if refuse(&shared) {
            drop(tcp);
            continue;
        }
        let _ = tcp.set_nodelay(true);
        let (task_shared, tls, serve) = (shared.clone(), tls.clone(), serve.clone());
        shared.tasks.spawn(async move {
            let io: BoxIo = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(TLS_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(stream)) => Box::new(stream),
                        _ => return,
                    }
                }
                None => Box::new(tcp),
            };
            serve(task_shared, io).await;
        });
    }
}
